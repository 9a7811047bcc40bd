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

from .. import draw_world, factories, results_world
from ..conftest import csrf_token, login

CHECKED = dt.date(2030, 3, 4)
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


# --- the review list and the 经营异常名录 ---------------------------------------------


def _post(client, url, csrf, **form):
    return client.post(url, data={"csrf_token": csrf, **form})


def test_review_list_export_keeps_the_status_filter_and_the_department(app, session, world, w):
    results_world.enter(session, w, world["insp_a"])
    client, csrf = _client(app, "admin_a", w)
    response = _post(client, "/console/results/export", csrf, status="submitted", format="xlsx")
    assert response.status_code == 200
    assert _filename(response).startswith("检查结果-待审核-")
    rows = _sheet(response.data)
    assert rows[0][:7] == [
        "检查对象",
        "统一社会信用代码",
        "抽查任务编号",
        "抽查任务",
        "检查日期",
        "检查结果",
        "状态",
    ]
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["统一社会信用代码"] == w["row"].drawn.uscc
    assert record["状态"] == "待审核" and record["检查结果"] == "1 未发现问题"
    assert record["检查对象"] == "'=HYPERLINK(1)有限公司"
    published = _post(client, "/console/results/export", csrf, status="published", format="csv")
    assert published.data.decode("utf-8-sig").count("\r\n") == 1  # the header alone
    assert _post(client, "/console/results/export", csrf, status="nope").status_code == 422
    other, token = _client(app, "admin_b", w)
    theirs = _post(other, "/console/results/export", token, status="", format="csv")
    assert w["row"].drawn.uscc not in theirs.data.decode("utf-8-sig")
    inspector, token = _client(app, "insp_a", w)
    assert _post(inspector, "/console/results/export", token, status="").status_code == 403


@pytest.fixture
def listing(session, world):
    from shuangsuiji.services.results import credit

    entity = factories.EntityFactory(department=world["a"], name="香河县恒达商贸有限公司")
    credit.on_result_published(
        session,
        actor=world["admin_a"],
        entity_id=entity.id,
        department_id=world["a"].id,
        inspection_ref="inspection:9",
        codes=["A", "2", "6"],
        checked_on=CHECKED,
        published_at=dt.datetime(2030, 3, 20, tzinfo=dt.UTC),
    )
    session.flush()
    return credit.listing_page(session, world["admin_a"], today=CHECKED).items[0].listing


def _decide(session, world, listing, action, day, reason=""):
    from shuangsuiji.services.results import credit

    credit.decide(
        session,
        actor=world["admin_a"],
        listing_id=listing.id,
        action=action,
        today=day,
        reason=reason,
    )
    session.flush()


def _listings_client(app, username):
    client = app.test_client()
    login(client, username)
    return client, csrf_token(client, "/console/")


def test_listing_export_keeps_the_filters(app, world, listing):
    client, csrf = _listings_client(app, "admin_a")
    response = _post(client, "/console/abnormal-listings/export", csrf, format="xlsx")
    assert response.status_code == 200
    assert _filename(response).startswith("经营异常名录-")
    rows = _sheet(response.data)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["检查对象"] == "香河县恒达商贸有限公司" and row["状态"] == "列入候选"
    assert row["列入事由"] == listing.ground and row["办理期限"] == listing.deadline
    removed = _post(
        client, "/console/abnormal-listings/export", csrf, status="removed", format="csv"
    )
    assert "香河县" not in removed.data.decode("utf-8-sig")
    assert _filename(removed).startswith("经营异常名录-已移出-")
    overdue = _post(client, "/console/abnormal-listings/export", csrf, overdue="1", format="csv")
    assert "香河县" not in overdue.data.decode("utf-8-sig")  # its deadline is years ahead
    late = listing.deadline + dt.timedelta(days=1)
    with time_machine.travel(dt.datetime(late.year, late.month, late.day, 2, tzinfo=dt.UTC)):
        client, csrf = _listings_client(app, "admin_a")
        overdue = _post(
            client, "/console/abnormal-listings/export", csrf, overdue="1", format="csv"
        )
    assert "香河县" in overdue.data.decode("utf-8-sig") and "已逾期" in overdue.data.decode(
        "utf-8-sig"
    )
    other, token = _listings_client(app, "admin_b")
    theirs = _post(other, "/console/abnormal-listings/export", token, format="csv")
    assert "香河县" not in theirs.data.decode("utf-8-sig")


def test_listing_and_removal_decisions_print_once_decided(app, session, world, listing):
    base = f"/console/abnormal-listings/{listing.id}/decision"
    client, _ = _listings_client(app, "admin_a")
    assert client.get(f"{base}/listing").status_code == 409  # not listed yet
    listed_on = listing.deadline
    _decide(session, world, listing, "list", listed_on)
    html = client.get(f"{base}/listing").get_data(as_text=True)
    assert "列入经营异常名录决定书" in html and "香河县恒达商贸有限公司" in html
    assert "通过登记的住所（经营场所）无法联系" in html
    assert "依据《企业信息公示暂行条例》的规定" in html
    assert f"〔{listed_on.year}〕{listing.id}号" in html
    assert f"{listed_on.year}年{listed_on.month}月{listed_on.day}日" in html
    assert "行政复议" in html and "行政诉讼" in html
    assert client.get(f"{base}/removal").status_code == 409  # not removed yet
    later = listed_on + dt.timedelta(days=30)
    _decide(session, world, listing, "request_removal", later, "已办理住所变更登记。")
    _decide(session, world, listing, "remove", later)
    removal = client.get(f"{base}/removal").get_data(as_text=True)
    assert "移出经营异常名录决定书" in removal and "已办理住所变更登记，列入" in removal
    assert f"异列〔{listed_on.year}〕{listing.id}号" in removal  # the listing it ends
    detail = client.get(f"/console/abnormal-listings/{listing.id}").get_data(as_text=True)
    assert 'id="decision-listing"' in detail and 'id="decision-removal"' in detail
    other, _ = _listings_client(app, "admin_b")
    assert other.get(f"{base}/listing").status_code == 404
    assert other.get(f"{base}/removal").status_code == 404


# --- a joint plan's list ---------------------------------------------------------------------


@pytest.fixture
def joint(app, world, session):
    """A joint plan of A with a slot of B, accepted and drawn; B's inspectors have mobiles."""
    from shuangsuiji.services.plans import participation

    lead = draw_world.populate(session, world["a"])
    part = draw_world.populate(session, world["b"], entities=0, inspectors=6, cert_prefix="88")
    for n, inspector in enumerate(lead["inspectors"] + part["inspectors"]):
        inspector.mobile = f"139{n:08d}"
    plan = factories.PlanFactory(
        actor=world["admin_a"], slots=["DEPT-A", "DEPT-B"], matters=[lead["matter"]]
    )
    participation.decide(
        session, actor=world["admin_b"], plan_id=plan.id, department_id=world["b"].id, accept=True
    )
    draw = factories.DrawFactory(actor=world["admin_a"], commitment__plan=plan)
    session.flush()
    return {"draw": draw, "lead": lead, "part": part}


def test_a_joint_list_gives_each_department_its_own_contacts(app, joint):
    draw = joint["draw"]
    lead_mobiles = {i.mobile for i in joint["lead"]["inspectors"]}
    part_mobiles = {i.mobile for i in joint["part"]["inspectors"]}
    client, csrf = _client(app, "admin_a", {"draw": draw})
    rows = _sheet(_export(client, csrf, {"draw": draw}).data)
    cells = {str(c) for row in rows[1:] for c in row}
    assert "信用风险分类" in rows[0]
    assert cells & lead_mobiles and not cells & part_mobiles  # B's in clear for B only
    assert any(c.startswith("139****") for c in cells)
    other, token = _client(app, "admin_b", {"draw": draw})
    rows = _sheet(_export(other, token, {"draw": draw}).data)
    cells = {str(c) for row in rows[1:] for c in row}
    assert "信用风险分类" not in rows[0]  # the lead's classes stay the lead's
    assert cells & part_mobiles and not cells & lead_mobiles
    assert not any(c in cells for c in {i.cert_no for i in joint["lead"]["inspectors"]})
