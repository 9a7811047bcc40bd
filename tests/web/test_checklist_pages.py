"""The console's 检查表 page: the version in force, the history, a new version by the matter's
department administrator; the public matter list shows the items in force."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from shuangsuiji import tabular
from shuangsuiji.services.registry import checklists

from .. import factories
from ..conftest import csrf_token, login

ROW = {
    "entries.1.content": "年度报告按时报送",
    "entries.1.method": "online",
    "entries.1.basis": "《企业信息公示暂行条例》第八条",
    "entries.1.criterion": "6月30日前报送",
    "entries.1.required": "是",
    "entries.1.codes": "B",
    # a blank row is left out
    "entries.2.content": "",
    "entries.2.method": "on_site",
    "entries.2.basis": "",
    "entries.2.criterion": "",
    "entries.2.codes": "",
}


def _matter(session, world):
    matter = factories.MatterFactory(department=world["a"], name="企业公示信息抽查")
    session.commit()
    return matter


def test_admin_publishes_versions_and_sees_the_history(app, world, session):
    matter = _matter(session, world)
    client = app.test_client()
    login(client, "admin_a")
    url = f"/console/matters/{matter.id}/checklist"
    page = client.get(url)
    assert page.status_code == 200
    assert "该事项尚无检查表" in page.get_data(as_text=True)
    token = csrf_token(client, url)
    made = client.post(url, data={**ROW, "csrf_token": token, "based_on": ""})
    assert made.status_code == 302, made.get_data(as_text=True)
    body = client.get(url).get_data(as_text=True)
    assert "已发布检查表第 1 版" in body and "第 1 版（现行）" in body
    assert "年度报告按时报送" in body and "网络核查" in body
    second = client.post(
        url,
        data={
            **ROW,
            "entries.2.content": "登记住所可联系",
            "entries.2.basis": "《企业信息公示暂行条例》第十七条",
            "entries.2.codes": "6",
            "note": "增加住所项",
            "csrf_token": token,
            "based_on": "1",
        },
    )
    assert second.status_code == 302
    body = client.get(url).get_data(as_text=True)
    assert "第 2 版（现行）" in body and "增加住所项" in body and "登记住所可联系" in body
    old = client.get(f"{url}?version=1").get_data(as_text=True)
    assert "已被第 2 版取代" in old
    assert "登记住所可联系" not in old.split('id="checklist-items"')[1].split("</table>")[0]
    assert client.get(f"{url}?version=7").status_code == 404
    assert f'href="{url}"' in client.get(f"/console/matters/{matter.id}").get_data(as_text=True)


def test_errors_are_shown_with_the_form_and_nothing_is_saved(app, world, session):
    matter = _matter(session, world)
    client = app.test_client()
    login(client, "admin_a")
    url = f"/console/matters/{matter.id}/checklist"
    token = csrf_token(client, url)
    bad = client.post(
        url, data={**ROW, "entries.1.codes": "1", "csrf_token": token, "based_on": ""}
    )
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert (
        "第 1 项不符合时的检查结果代码" in body
        and "不符合不能对应以下检查结果：1 未发现问题" in body
    )
    assert 'value="1"' in body  # the form keeps what was typed
    assert checklists.current(session, matter.id) is None


def test_only_the_departments_admin_may_publish(app, world, session):
    matter = _matter(session, world)
    url = f"/console/matters/{matter.id}/checklist"
    other = app.test_client()
    login(other, "admin_b")
    assert other.get(url).status_code == 404
    token = csrf_token(other, "/console/tokens")
    assert other.post(url, data={**ROW, "csrf_token": token}).status_code == 404
    inspector = app.test_client()
    login(inspector, "insp_a")
    page = inspector.get(url).get_data(as_text=True)
    assert "发布新版本" not in page
    token = csrf_token(inspector, "/console/tokens")
    assert inspector.post(url, data={**ROW, "csrf_token": token}).status_code == 403
    assert checklists.current(session, matter.id) is None


def test_the_public_matter_list_shows_the_items_in_force(app, world, session):
    matter = _matter(session, world)
    bare = factories.MatterFactory(department=world["a"], name="无检查表的事项")
    item = {"method": "on_site", "basis": "《企业信息公示暂行条例》第十七条", "codes": ["6"]}
    checklists.create_version(
        session, actor=world["admin_a"], matter_id=matter.id, items=[{**item, "content": "旧项"}]
    )
    checklists.create_version(
        session,
        actor=world["admin_a"],
        matter_id=matter.id,
        items=[{**item, "content": "登记住所可联系", "required": False}],
    )
    session.commit()
    body = app.test_client().get("/matters").get_data(as_text=True)
    shown = body.split(f'id="checklist-{matter.id}"')[1].split("</tr>")[0]
    assert "检查表（第 2 版，1 项）" in shown
    assert "登记住所可联系" in shown and "（选查）" in shown and "现场检查" in shown
    assert "第十七条" in shown and "旧项" not in body
    assert f'id="checklist-{bare.id}"' not in body


def _published(session, world):
    matter = _matter(session, world)
    checklists.create_version(
        session,
        actor=world["admin_a"],
        matter_id=matter.id,
        items=[
            {
                "content": "年度报告按时报送",
                "method": "online",
                "basis": "《企业信息公示暂行条例》第八条",
                "codes": ["B"],
            },
            {
                "content": "登记住所可联系",
                "method": "on_site",
                "basis": "第十七条",
                "required": False,
                "codes": ["6", "C"],
            },
        ],
    )
    session.commit()
    return matter


def test_export_and_import_round_trip(app, world, session):
    matter = _published(session, world)
    client = app.test_client()
    login(client, "admin_a")
    url = f"/console/matters/{matter.id}/checklist"
    exported = client.get(f"{url}.xlsx")
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    path = tmp_file(exported.data)
    headers, rows = read_rows(path)
    assert headers[:2] == ["检查内容", "检查方法"]
    assert rows[1] == ["登记住所可联系", "现场检查", "第十七条", "", "否", "C、6"]
    token = csrf_token(client, url)
    imported = client.post(
        f"{url}/import",
        data={
            "csrf_token": token,
            "based_on": "1",
            "file": (io.BytesIO(exported.data), "检查表.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert imported.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "已从文件导入并发布检查表第 2 版" in page
    again = checklists.current(session, matter.id)
    assert again.version == 2 and [i.code_list for i in again.items] == [["B"], ["C", "6"]]
    assert [i.required for i in again.items] == [True, False]
    assert client.get(f"{url}.xlsx?version=1").status_code == 200


def test_a_bad_sheet_is_refused_in_chinese(app, world, session):
    matter = _published(session, world)
    client = app.test_client()
    login(client, "admin_a")
    url = f"/console/matters/{matter.id}/checklist"
    token = csrf_token(client, url)
    bad_csv = "检查内容,检查方法,检查依据,必查,不符合时的检查结果代码\n年报,拍照,第八条,是,1\n"
    wrong = client.post(
        f"{url}/import",
        data={"csrf_token": token, "file": (io.BytesIO(bad_csv.encode()), "a.csv")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "检查表填写有误" in page and "第 1 项检查方法" in page and "1 未发现问题" in page
    missing = client.post(
        f"{url}/import",
        data={"csrf_token": token, "file": (io.BytesIO("检查内容\n年报\n".encode()), "a.csv")},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 302
    assert "缺少列：检查方法、检查依据" in client.get(url).get_data(as_text=True)
    fake = client.post(
        f"{url}/import",
        data={"csrf_token": token, "file": (io.BytesIO(b"not a workbook"), "a.xlsx")},
        content_type="multipart/form-data",
    )
    assert fake.status_code == 302
    assert checklists.current(session, matter.id).version == 1
    other = app.test_client()
    login(other, "admin_b")
    token_b = csrf_token(other, "/console/tokens")
    assert other.get(f"{url}.xlsx").status_code == 404
    assert (
        other.post(
            f"{url}/import",
            data={"csrf_token": token_b, "file": (io.BytesIO(bad_csv.encode()), "a.csv")},
            content_type="multipart/form-data",
        ).status_code
        == 404
    )


def tmp_file(data: bytes) -> Path:
    path = Path(tempfile.mkdtemp()) / "checklist.xlsx"
    path.write_bytes(data)
    return path


def read_rows(path: Path):
    with tabular.open_table(path, filename=path.name) as table:
        return table.headers, [cells for _n, cells in table]
