"""The registries over the API: search, edit, import, rejects, export."""

from __future__ import annotations

import io

from shuangsuiji.domain import uscc
from shuangsuiji.worker import Worker

from ..conftest import csrf_token, login


def code(n: int) -> str:
    return uscc.make(f"91131024{n:09d}")


def _client(app, username="admin_a"):
    client = app.test_client()
    login(client, username)
    return client, {"X-CSRFToken": csrf_token(client, "/console/tokens")}


def test_create_search_and_edit_entity(app, world):
    client, headers = _client(app)
    created = client.post(
        "/api/v1/entities",
        headers=headers,
        json={
            "uscc": code(1).lower(),
            "name": "香河县恒达商贸有限公司",
            "region_code": "131024",
            "risk_class": "B类",
            "abnormal_listed": "否",
            "registered_on": "2019/3/5",
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["uscc"], body["risk_class"], body["registered_on"]) == (code(1), "B", "2019-03-05")
    found = client.get("/api/v1/entities?q=恒达").get_json()
    assert [e["id"] for e in found["items"]] == [body["id"]] and found["next"] is None
    assert len(client.get("/api/v1/entities?region_code=131000").get_json()["items"]) == 1
    assert client.get("/api/v1/entities?region_code=131028").get_json()["items"] == []
    patched = client.patch(
        f"/api/v1/entities/{body['id']}", headers=headers, json={"status": "注销"}
    )
    assert patched.get_json()["status"] == "注销"


def test_the_abnormal_flag_and_the_risk_class_are_not_patched_by_hand(app, world):
    client, headers = _client(app)
    created = client.post(
        "/api/v1/entities",
        headers=headers,
        json={"uscc": code(3), "name": "廊坊市恒达商贸有限公司", "risk_class": "B"},
    ).get_json()
    url = f"/api/v1/entities/{created['id']}"
    for change in ({"abnormal_listed": "是"}, {"risk_class": "D"}, {"risk_class_month": "2026-11"}):
        response = client.patch(url, headers=headers, json=change | {"name": "改名"})
        assert response.status_code == 422, change
        body = response.get_json()
        assert set(body["errors"]) == set(change)
        assert "经营异常名录" in body["message"]
    after = client.get(url).get_json()
    assert (after["name"], after["risk_class"], after["abnormal_listed"]) == (
        "廊坊市恒达商贸有限公司",
        "B",
        False,
    )
    # the same values sent back unchanged pass (a form's read-only fields)
    same = {"abnormal_listed": "否", "risk_class": "B", "name": "改名"}
    assert client.patch(url, headers=headers, json=same).status_code == 200
    # a new record is never listed by hand
    listed = client.post(
        "/api/v1/entities",
        headers=headers,
        json={"uscc": code(4), "name": "大厂县某某饭店", "abnormal_listed": "是"},
    )
    assert listed.status_code == 422 and set(listed.get_json()["errors"]) == {"abnormal_listed"}


def test_bad_entity_input_is_structured(app, world):
    client, headers = _client(app)
    response = client.post(
        "/api/v1/entities",
        headers=headers,
        json={"uscc": "123", "name": "x", "region_code": "000000"},
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {"uscc", "region_code"} <= set(errors)


def test_other_department_cannot_see_entity(app, world):
    client, headers = _client(app)
    entity_id = client.post(
        "/api/v1/entities", headers=headers, json={"uscc": code(2), "name": "甲局对象"}
    ).get_json()["id"]
    other, _ = _client(app, "admin_b")
    assert other.get(f"/api/v1/entities/{entity_id}").status_code == 404
    assert other.get("/api/v1/entities").get_json()["items"] == []


def test_inspector_output_never_has_id_number(app, world):
    client, headers = _client(app)
    body = client.post(
        "/api/v1/inspectors",
        headers=headers,
        json={"name": "张三", "cert_no": "13001", "id_number": "11010519491231002X"},
    ).get_json()
    assert "id_number" not in body
    page = client.get("/api/v1/inspectors").get_json()
    assert "id_number" not in page["items"][0]


def test_import_over_api_then_rejects_download(app, db, world):
    client, headers = _client(app)
    content = (f"统一社会信用代码,企业名称\n{code(1)},好公司\nBAD,坏公司\n").encode("gbk")
    response = client.post(
        "/api/v1/imports",
        headers=headers,
        data={"kind": "entities", "file": (io.BytesIO(content), "名录.csv")},
    )
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    worker = Worker(db, app.config)
    worker.run_one()
    job = client.get(f"/api/v1/imports/{job['id']}").get_json()
    assert job["status"] == "ready" and (job["inserted"], job["rejected"]) == (1, 1)
    assert ["统一社会信用代码", "uscc"] in job["mapping"]
    rejects = client.get(f"/api/v1/imports/{job['id']}/rejects").get_json()["items"]
    assert rejects[0]["row_no"] == 3 and rejects[0]["column"] == "统一社会信用代码"
    csv_file = client.get(f"/api/v1/imports/{job['id']}/rejects?format=csv")
    assert csv_file.data.startswith(b"\xef\xbb\xbf") and b"BAD" in csv_file.data
    assert csv_file.headers["Content-Type"] == "text/csv; charset=utf-8"  # once
    console_csv = client.get(f"/console/imports/{job['id']}/rejects.csv")
    assert console_csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    confirm = client.post(f"/api/v1/imports/{job['id']}/confirm", headers=headers)
    assert confirm.status_code == 202
    worker.run_one()
    assert client.get(f"/api/v1/imports/{job['id']}").get_json()["status"] == "done"
    assert len(client.get("/api/v1/entities").get_json()["items"]) == 1


def test_export_escapes_formulas(app, db, world):
    client, headers = _client(app)
    client.post(
        "/api/v1/entities",
        headers=headers,
        json={"uscc": code(3), "name": '=HYPERLINK("http://x","点我")'},
    )
    task = client.post(
        "/api/v1/exports", headers=headers, json={"kind": "entities", "format": "csv"}
    ).get_json()
    Worker(db, app.config).run_one()
    assert client.get(f"/api/v1/tasks/{task['id']}").get_json()["status"] == "done"
    with client.get(f"/api/v1/exports/{task['id']}/file") as response:
        data = response.data.decode("utf-8-sig")
    assert "'=HYPERLINK" in data


def test_export_with_unknown_filter_is_422(app, world):
    client, headers = _client(app)
    response = client.post(
        "/api/v1/exports", headers=headers, json={"kind": "entities", "filters": {"nope": 1}}
    )
    assert response.status_code == 422


def test_public_matter_list(app, world, client):
    admin, headers = _client(app)
    admin.post(
        "/api/v1/matters",
        headers=headers,
        json={"code": "SAMR-001", "name": "企业公示信息情况检查", "category": "一般"},
    )
    page = client.get("/matters").get_data(as_text=True)
    assert "企业公示信息情况检查" in page


def test_names_are_escaped_on_pages(app, world):
    client, headers = _client(app)
    created = client.post(
        "/api/v1/entities",
        headers=headers,
        json={"uscc": code(4), "name": "<script>alert(1)</script>公司"},
    ).get_json()
    page = client.get(f"/console/entities/{created['id']}").get_data(as_text=True)
    listing = client.get("/console/entities").get_data(as_text=True)
    for html in (page, listing):
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;" in html


def test_console_export_with_garbled_filters_is_422(app, world):
    client, headers = _client(app)
    response = client.post(
        "/console/exports",
        data={"kind": "entities", "filters": "{not json", "csrf_token": headers["X-CSRFToken"]},
    )
    assert response.status_code == 422
    assert "筛选条件格式无效" in response.get_data(as_text=True)


def test_a_stuck_import_is_cancelled_over_the_api_and_in_the_console(app, db, world):
    client, headers = _client(app)
    content = f"统一社会信用代码,企业名称\n{code(1)},好公司\n".encode()
    job = client.post(
        "/api/v1/imports",
        headers=headers,
        data={"kind": "entities", "file": (io.BytesIO(content), "名录.csv")},
    ).get_json()
    assert job["status"] == "validating"  # no worker runs it
    page = client.get(f"/console/imports/{job['id']}").get_data(as_text=True)
    assert 'id="cancel-stuck-import"' in page
    response = client.post(f"/api/v1/imports/{job['id']}/cancel", headers=headers)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    again = client.post(f"/api/v1/imports/{job['id']}/cancel", headers=headers)
    assert again.status_code == 409

    # The console's button, on a batch stuck 导入中.
    second = client.post(
        "/api/v1/imports",
        headers=headers,
        data={"kind": "entities", "file": (io.BytesIO(content), "名录.csv")},
    ).get_json()
    worker = Worker(db, app.config)
    while worker.run_one():  # the first batch's task (it checks nothing), the second's
        pass
    client.post(f"/api/v1/imports/{second['id']}/confirm", headers=headers)
    page = client.get(f"/console/imports/{second['id']}").get_data(as_text=True)
    assert "导入中" in page and 'id="cancel-stuck-import"' in page
    response = client.post(
        f"/console/imports/{second['id']}/cancel",
        data={"csrf_token": headers["X-CSRFToken"]},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="import-cancelled"' in html
    assert client.get("/api/v1/entities").get_json()["items"] == []


def test_an_inspector_cannot_cancel_an_import(app, world):
    client, headers = _client(app)
    job = client.post(
        "/api/v1/imports",
        headers=headers,
        data={"kind": "entities", "file": (io.BytesIO(b"uscc,name\n"), "x.csv")},
    ).get_json()
    inspector, inspector_headers = _client(app, "insp_a")
    response = inspector.post(f"/api/v1/imports/{job['id']}/cancel", headers=inspector_headers)
    assert response.status_code in (403, 404)


def test_an_upload_over_the_import_limit_is_a_413_naming_the_limit(app, world):
    app.config["IMPORT_MAX_BYTES"] = 1500  # small: a large body would be spooled to disk
    client, headers = _client(app)
    response = client.post(
        "/api/v1/imports",
        headers=headers,
        data={"kind": "entities", "file": (io.BytesIO(b"x" * 3000), "名录.csv")},
    )
    assert response.status_code == 413
    assert "1,500 字节" in response.get_json()["message"]
    page = client.post(
        "/console/imports",
        data={
            "kind": "entities",
            "file": (io.BytesIO(b"x" * 3000), "名录.csv"),
            "csrf_token": headers["X-CSRFToken"],
        },
    )
    assert page.status_code == 413 and "1,500 字节" in page.get_data(as_text=True)
