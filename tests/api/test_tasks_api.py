"""A task over the API: progress and result, never the server's file paths."""

from __future__ import annotations

import json
from pathlib import Path

from shuangsuiji.db import Task
from shuangsuiji.domain import uscc
from shuangsuiji.worker import Worker

from ..conftest import csrf_token, login


def _client(app, username="admin_a"):
    client = app.test_client()
    login(client, username)
    return client, {"X-CSRFToken": csrf_token(client, "/console/tokens")}


def _export(app, db, client, headers) -> dict:
    client.post(
        "/api/v1/entities",
        headers=headers,
        json={"uscc": uscc.make("91131024000000001"), "name": "某公司"},
    )
    task = client.post(
        "/api/v1/exports", headers=headers, json={"kind": "entities", "format": "csv"}
    ).get_json()
    Worker(db, app.config).run_one()
    return task


def test_an_export_task_offers_a_download_url_and_no_server_path(app, db, world):
    client, headers = _client(app)
    task = _export(app, db, client, headers)
    response = client.get(f"/api/v1/tasks/{task['id']}")
    body = response.get_json()
    assert body["status"] == "done" and body["result"]["rows"] == 1
    assert "path" not in body["result"]
    export_dir = app.config["EXPORT_DIR"]
    assert Path(export_dir).is_absolute() and export_dir not in response.get_data(as_text=True)
    assert body["download_url"] == f"/api/v1/exports/{task['id']}/file"
    with client.get(body["download_url"]) as download:
        assert download.status_code == 200 and "某公司" in download.data.decode("utf-8-sig")


def test_a_stored_path_of_an_older_export_is_not_shown(app, db, session, world):
    client, headers = _client(app)
    task = _export(app, db, client, headers)
    row = session.get(Task, task["id"])
    result = json.loads(row.result)
    row.result = json.dumps({**result, "path": f"{app.config['EXPORT_DIR']}/task-{row.id}.csv"})
    session.commit()
    response = client.get(f"/api/v1/tasks/{task['id']}")
    assert app.config["EXPORT_DIR"] not in response.get_data(as_text=True)
    assert "path" not in response.get_json()["result"]
    with client.get(response.get_json()["download_url"]) as download:
        assert download.status_code == 200


def test_other_tasks_have_no_download_url(app, world):
    client, headers = _client(app, "audit")
    task = client.post("/api/v1/audit/verify", headers=headers).get_json()
    assert task["download_url"] is None


def test_an_export_file_gone_from_the_disk_is_a_404_not_a_500(app, db, world):
    client, headers = _client(app)
    task = _export(app, db, client, headers)
    for stored in Path(app.config["EXPORT_DIR"]).iterdir():
        stored.unlink()
    response = client.get(f"/api/v1/exports/{task['id']}/file")
    assert response.status_code == 404 and "请重新导出" in response.get_json()["message"]
