"""Paperwork downloads of the console: a draw's list with teams and contacts, every notice of a
draw on one print page; who may have them, what they hold, how they are named."""

from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import unquote

import pytest
import time_machine
from python_calamine import CalamineWorkbook

from shuangsuiji.worker import Worker

from .. import results_world
from ..conftest import csrf_token, login

MOBILE = "13812345678"
EMAIL = "zhang.san@example.cn"


@pytest.fixture
def w(session, world):
    drawn = results_world.drawn(session, world)
    drawn["inspector"].mobile = MOBILE
    drawn["inspector"].email = EMAIL
    drawn["entity"].name = "=HYPERLINK(1)有限公司"
    session.flush()
    return drawn


def _client(app, username, w):
    client = app.test_client()
    login(client, username)
    return client, csrf_token(client, "/console/")


def _sheet(data: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()


def _filename(response) -> str:
    header = response.headers["Content-Disposition"]
    return unquote(re.search(r"filename\*=UTF-8''(.+)$", header).group(1))


def _export(client, csrf, w, fmt="xlsx"):
    return client.post(
        f"/console/draws/{w['draw'].id}/export", data={"csrf_token": csrf, "format": fmt}
    )


def test_draw_list_has_every_entity_its_team_and_contacts_in_clear_for_its_admin(app, w):
    with time_machine.travel(dt.datetime(2026, 12, 5, 11, 30, tzinfo=dt.UTC), tick=False):
        client, csrf = _client(app, "admin_a", w)
        response = _export(client, csrf, w)
    assert response.status_code == 200
    assert _filename(response) == "抽取名单-PLAN-R1-20261205-1930.xlsx"  # Beijing time
    rows = _sheet(response.data)
    headers = rows[0]
    assert headers[:9] == [
        "序号",
        "统一社会信用代码",
        "企业名称",
        "住所",
        "行政区划",
        "管辖单位",
        "片区",
        "信用风险分类",
        "类内排名",
    ]
    assert "检查人员1手机号码" in headers and "检查人员2电子邮箱" in headers
    assert len(rows) - 1 == w["draw"].summary_doc.drawn
    first = dict(zip(headers, rows[1], strict=True))
    assert first["统一社会信用代码"] == w["row"].drawn.uscc
    assert first["企业名称"] == "'=HYPERLINK(1)有限公司"  # escaped, never a live formula
    assert first["检查人员1"] == w["inspector"].name
    assert first["检查人员1手机号码"] == MOBILE and first["检查人员1电子邮箱"] == EMAIL
    assert first["行政区划"].startswith(w["entity"].region_code + " ")


def test_auditor_gets_the_contacts_masked(app, w):
    client, csrf = _client(app, "audit", w)
    response = _export(client, csrf, w, "csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = response.data.decode("utf-8-sig")
    assert MOBILE not in text and EMAIL not in text
    assert "138****5678" in text and "z***@example.cn" in text


def test_other_department_gets_404_and_inspectors_403(app, w):
    client, csrf = _client(app, "admin_b", w)
    assert _export(client, csrf, w).status_code == 404
    assert client.get(f"/console/draws/{w['draw'].id}/notices").status_code == 404
    inspector = app.test_client()
    login(inspector, "insp_a")
    token = csrf_token(inspector, "/console/")
    response = inspector.post(
        f"/console/draws/{w['draw'].id}/export", data={"csrf_token": token, "format": "xlsx"}
    )
    assert response.status_code == 403
    assert inspector.get(f"/console/draws/{w['draw'].id}/notices").status_code == 403


def test_unknown_format_is_404(app, w):
    client, csrf = _client(app, "admin_a", w)
    assert _export(client, csrf, w, "pdf").status_code == 404


def test_a_large_list_is_written_by_the_worker_and_named_in_beijing_time(app, db, w):
    app.config["EXPORT_INLINE_MAX_ROWS"] = 1
    client, csrf = _client(app, "admin_a", w)
    response = _export(client, csrf, w)
    assert response.status_code == 302 and "/console/tasks/" in response.headers["Location"]
    task_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    with time_machine.travel(dt.datetime.now(dt.UTC)) as traveller:
        # the worker runs at 00:05 the next day in Beijing (16:05 UTC)
        traveller.move_to(dt.datetime(2030, 12, 5, 16, 5, tzinfo=dt.UTC))
        Worker(db, app.config).run_one()
    page = client.get(f"/console/tasks/{task_id}").get_data(as_text=True)
    assert "抽取名单-PLAN-R1-20301206-0005.xlsx" in page  # past midnight in Beijing
    with client.get(f"/console/exports/{task_id}/file") as download:
        assert download.status_code == 200
        assert len(_sheet(download.data)) - 1 == w["draw"].summary_doc.drawn
    other = app.test_client()
    login(other, "admin_b")
    assert other.get(f"/console/exports/{task_id}/file").status_code == 404


def test_every_notice_of_the_draw_on_one_print_page(app, w):
    client, _ = _client(app, "admin_a", w)
    response = client.get(f"/console/draws/{w['draw'].id}/notices")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    drawn = w["draw"].summary_doc.drawn
    assert html.count('<article class="notice"') == drawn
    assert f'id="notice-{drawn}"' in html
    assert w["inspector"].name in html and w["inspector"].cert_no in html
    assert MOBILE not in html  # the firm's notice names the team, never their phones
    assert "<script>" not in html.split("</main>")[0]  # no inline script (CSP)


def test_notices_print_a_range_and_refuse_one_outside_the_draw(app, w):
    client, _ = _client(app, "admin_a", w)
    html = client.get(f"/console/draws/{w['draw'].id}/notices?from=2&to=3").get_data(as_text=True)
    assert html.count('<article class="notice"') == 2
    assert 'id="notice-2"' in html and 'id="notice-3"' in html
    drawn = w["draw"].summary_doc.drawn
    response = client.get(f"/console/draws/{w['draw'].id}/notices?from=2&to={drawn + 1}")
    assert response.status_code == 422
    assert "序号范围" in response.get_data(as_text=True)
