"""检查表 over the API: publish versions, page them, read one; access per department."""

from __future__ import annotations

import io

from .. import factories
from ..conftest import csrf_token, login

ITEM = {
    "content": "年度报告按时报送",
    "method": "网络核查",
    "basis": "《企业信息公示暂行条例》第八条",
    "criterion": "每年6月30日前报送上一年度年度报告",
    "codes": ["B"],
}


def _client(app, username="admin_a"):
    client = app.test_client()
    login(client, username)
    return client, {"X-CSRFToken": csrf_token(client, "/console/tokens")}


def test_publish_page_and_read_versions(app, world, session):
    matter = factories.MatterFactory(department=world["a"])
    session.commit()
    client, headers = _client(app)
    url = f"/api/v1/matters/{matter.id}/checklists"
    assert client.get(f"{url}/current").status_code == 404
    first = client.post(url, headers=headers, json={"entries": [ITEM]})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["version"] == 1
    assert body["entries"][0] | {"position": 1} == {
        **ITEM,
        "position": 1,
        "method": "online",
        "method_label": "网络核查",
        "required": True,
    }
    second = client.post(
        url,
        headers=headers,
        json={
            "entries": [ITEM, {**ITEM, "content": "登记住所可联系", "codes": ["6"]}],
            "based_on": 1,
        },
    )
    assert second.status_code == 201
    stale = client.post(url, headers=headers, json={"entries": [ITEM], "based_on": 1})
    assert stale.status_code == 409
    page = client.get(f"{url}?limit=1")
    assert [c["version"] for c in page.get_json()["items"]] == [2]
    assert 'rel="next"' in page.headers["Link"]
    rest = client.get(page.get_json()["next"]).get_json()
    assert [c["version"] for c in rest["items"]] == [1] and rest["next"] is None
    assert client.get(f"{url}/1").get_json()["entries"][0]["content"] == "年度报告按时报送"
    assert len(client.get(f"{url}/current").get_json()["entries"]) == 2
    assert client.get(f"{url}/9").status_code == 404


def test_bad_items_get_structured_errors(app, world, session):
    matter = factories.MatterFactory(department=world["a"])
    session.commit()
    client, headers = _client(app)
    bad = client.post(
        f"/api/v1/matters/{matter.id}/checklists",
        headers=headers,
        json={"entries": [{**ITEM, "method": "猜", "codes": ["1"]}]},
    )
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]
    assert "检查方法应为" in errors["entries.1.method"][0]
    assert errors["entries.1.codes"] == ["不符合不能对应以下检查结果：1 未发现问题"]


def test_other_departments_cannot_change_it(app, world, session):
    matter = factories.MatterFactory(department=world["a"])
    session.commit()
    url = f"/api/v1/matters/{matter.id}/checklists"
    client_b, headers_b = _client(app, "admin_b")
    assert client_b.post(url, headers=headers_b, json={"entries": [ITEM]}).status_code == 404
    assert client_b.get(url).status_code == 404
    inspector, headers_i = _client(app, "insp_a")
    assert inspector.post(url, headers=headers_i, json={"entries": [ITEM]}).status_code == 403
    assert inspector.get(url).status_code == 200


def test_excel_export_and_import(app, world, session):
    matter = factories.MatterFactory(department=world["a"])
    session.commit()
    client, headers = _client(app)
    url = f"/api/v1/matters/{matter.id}/checklists"
    assert client.post(url, headers=headers, json={"entries": [ITEM]}).status_code == 201
    exported = client.get(f"{url}/1/file")
    assert exported.status_code == 200 and exported.data.startswith(b"PK")
    assert client.get(f"{url}/2/file").status_code == 404
    imported = client.post(
        f"{url}/file",
        headers=headers,
        data={"file": (io.BytesIO(exported.data), "检查表.xlsx"), "based_on": "1", "note": "重导"},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 201, imported.get_json()
    body = imported.get_json()
    assert (body["version"], body["note"], body["entries"][0]["codes"]) == (2, "重导", ["B"])
    missing = client.post(
        f"{url}/file", headers=headers, data={}, content_type="multipart/form-data"
    )
    assert missing.status_code == 422 and missing.get_json()["errors"]["file"] == ["请选择文件"]
    client_b, headers_b = _client(app, "admin_b")
    other = client_b.post(
        f"{url}/file",
        headers=headers_b,
        data={"file": (io.BytesIO(exported.data), "检查表.xlsx")},
        content_type="multipart/form-data",
    )
    assert other.status_code == 404
    assert client_b.get(f"{url}/1/file").status_code == 404
