"""The import page's paperwork: a template per list with the accepted headers (from
columns.py), the help text listing them, and the rejected rows as a file the clerk fixes and
imports again."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import pytest
from python_calamine import CalamineWorkbook

from shuangsuiji import tabular
from shuangsuiji.columns import REJECT_NOTE_HEADERS
from shuangsuiji.db import ImportJob
from shuangsuiji.domain import uscc
from shuangsuiji.services.registry import imports
from shuangsuiji.worker import Worker

from ..conftest import csrf_token, login


def code(n: int, region: str = "131024") -> str:
    return uscc.make(f"91{region}{n:09d}")


def _client(app, username="admin_a"):
    client = app.test_client()
    login(client, username)
    return client, csrf_token(client, "/console/")


def _book(data: bytes) -> CalamineWorkbook:
    return CalamineWorkbook.from_filelike(io.BytesIO(data))


@pytest.mark.parametrize("kind", sorted(imports.KINDS))
def test_each_list_has_a_template_with_its_headers_and_help(app, world, kind):
    client, _ = _client(app)
    fields = imports.KINDS[kind].fields
    response = client.get(f"/console/imports/templates/{kind}.xlsx")
    assert response.status_code == 200
    label = imports.KINDS[kind].label
    assert f"{label}-导入模板.xlsx" in unquote(response.headers["Content-Disposition"])
    book = _book(response.data)
    assert book.sheet_names[1] == "填写说明"
    header = book.get_sheet_by_index(0).to_python()
    assert header == [[("*" if f.required else "") + f.label for f in fields]]
    notes = book.get_sheet_by_name("填写说明").to_python()
    assert notes[0] == ["列名", "是否必填", "填写要求", "也可使用的列名"]
    assert [row[0] for row in notes[1:]] == [f.label for f in fields]
    assert [row[1] == "必填" for row in notes[1:]] == [f.required for f in fields]
    assert all(row[2] for row in notes[1:])  # every column says what it takes
    csv = client.get(f"/console/imports/templates/{kind}.csv")
    assert csv.data.decode("utf-8-sig").splitlines() == [
        ",".join(("*" if f.required else "") + f.label for f in fields)
    ]


def test_template_access(app, world):
    client, _ = _client(app)
    assert client.get("/console/imports/templates/nope.xlsx").status_code == 404
    inspector, _ = _client(app, "insp_a")
    assert inspector.get("/console/imports/templates/entities.xlsx").status_code == 403


def test_the_import_page_lists_every_lists_headers_required_ones_marked(app, world):
    client, _ = _client(app)
    html = client.get("/console/imports?kind=inspectors").get_data(as_text=True)
    assert '<details class="import-help" id="help-inspectors" open>' in html
    assert '<details class="import-help" id="help-entities">' in html
    assert '<td>执法证号 *</td><td class="nowrap">必填</td>' in html
    assert '<td>发证机关</td><td class="nowrap"></td>' in html
    assert "执法证件号、执法证编号" in html and "cert_issuer" not in html  # no internal names
    assert 'id="template-conflicts-xlsx"' in html


def _upload(client, csrf, db, app, name: str, data: bytes, kind: str = "entities") -> ImportJob:
    response = client.post(
        "/console/imports",
        data={"csrf_token": csrf, "kind": kind, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    import_id = int(re.search(r"/imports/(\d+)", response.headers["Location"]).group(1))
    Worker(db, app.config).run_one()
    return import_id


def test_a_filled_template_imports(app, db, world):
    client, csrf = _client(app)
    template = client.get("/console/imports/templates/entities.csv").data.decode("utf-8-sig")
    header = template.splitlines()[0].split(",")
    row = {"*统一社会信用代码": code(1), "*企业名称": "香河县恒达商贸有限公司", "登记状态": "存续"}
    line = ",".join(row.get(h, "") for h in header)
    import_id = _upload(client, csrf, db, app, "模板.csv", f"{template}{line}\n".encode())
    job = client.get(f"/api/v1/imports/{import_id}").get_json()
    assert job["status"] == "ready" and job["inserted"] == 1 and job["rejected"] == 0
    assert job["unknown_headers"] == []


def test_reject_note_headers_are_no_list_s_header():
    notes = {tabular.normalise_header(h) for h in REJECT_NOTE_HEADERS}
    for kind in imports.KINDS.values():
        for f in kind.fields:
            names = {tabular.normalise_header(n) for n in (f.label, f.name, *f.aliases)}
            assert not names & notes, (kind.name, f.name)


def _fixed(rows: list[list], fixes: dict[int, dict[str, str]]) -> list[list]:
    """The rejects file's rows with the cells a clerk corrected, by original row number."""
    headers = rows[0]
    out = []
    for row in rows[1:]:
        row = [str(c) for c in row]
        for header, value in fixes[int(float(row[0]))].items():
            row[headers.index(header)] = value
        out.append(row)
    return out


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_rejected_rows_come_back_with_their_cells_and_import_once_fixed(app, db, world, fmt):
    client, csrf = _client(app)
    content = (
        "统一社会信用代码,企业名称,行政区划代码,成立日期,内部编号\n"
        f"{code(1)},香河县恒达商贸有限公司,131024,2020-01-02,K1\n"
        "91131024MA0XXXXX00,校验位错误的公司,131024,2020-01-03,K2\n"
        f"{code(1)},重复的行,131024,2020-01-04,K3\n"
        f"{code(4)},两处错误的公司,999999,2020-13-45,K4\n"
    )
    import_id = _upload(client, csrf, db, app, "香河名录.csv", content.encode("gbk"))
    job = client.get(f"/api/v1/imports/{import_id}").get_json()
    assert (job["inserted"], job["rejected"]) == (1, 3)

    response = client.get(f"/console/imports/{import_id}/rejects.{fmt}")
    assert response.status_code == 200
    if fmt == "xlsx":
        rows = _book(response.data).get_sheet_by_index(0).to_python()
    else:
        rows = [line.split(",") for line in response.data.decode("utf-8-sig").splitlines()]
    assert rows[0] == [
        "原行号",
        "有误的列",
        "拒绝原因",
        "统一社会信用代码",
        "企业名称",
        "行政区划代码",
        "成立日期",
        "内部编号",
    ]
    by_row = {int(float(r[0])): [str(c) for c in r] for r in rows[1:]}
    assert sorted(by_row) == [3, 4, 5]
    assert by_row[3][3:] == ["91131024MA0XXXXX00", "校验位错误的公司", "131024", "2020-01-03", "K2"]
    assert by_row[4][2] == "统一社会信用代码：与文件第 2 行重复"
    # A duplicate is found among the checked rows: its cells come back as checked, and the
    # columns the import does not read are left empty.
    assert by_row[4][3:] == [code(1), "重复的行", "131024", "2020-01-04", ""]
    assert by_row[5][1] == "行政区划代码、成立日期"
    assert "行政区划代码：" in by_row[5][2] and "；成立日期：" in by_row[5][2]
    assert by_row[5][3:] == [code(4), "两处错误的公司", "999999", "2020-13-45", "K4"]

    fixed = _fixed(
        rows,
        {
            3: {"统一社会信用代码": code(3)},
            4: {"统一社会信用代码": code(5)},
            5: {"行政区划代码": "131024", "成立日期": "2020-12-15"},
        },
    )
    buffer = io.BytesIO()
    if fmt == "xlsx":
        tabular.write_xlsx(buffer, rows[0], fixed)
    else:
        tabular.write_csv(buffer, rows[0], fixed)
    again = _upload(client, csrf, db, app, f"香河名录-被拒绝的行.{fmt}", buffer.getvalue())
    job = client.get(f"/api/v1/imports/{again}").get_json()
    assert job["status"] == "ready", job
    assert (job["rows_read"], job["inserted"], job["rejected"]) == (3, 3, 0)
    assert job["unknown_headers"] == ["内部编号"]  # the note columns are known and ignored
