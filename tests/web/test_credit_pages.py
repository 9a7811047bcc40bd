"""Console pages of the 经营异常名录 workflow, the entity's credit events and the outbox."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from shuangsuiji.db import AbnormalListing
from shuangsuiji.db.states import ListingStatus
from shuangsuiji.services.platform import outbox
from shuangsuiji.services.results import credit
from shuangsuiji.web import credit as web_credit

from .. import factories
from ..conftest import csrf_token, login

TZ = ZoneInfo("Asia/Shanghai")
CHECKED = dt.date(2030, 3, 4)


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client, csrf_token(client, "/console/tokens")


@pytest.fixture
def listing(session, world):
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
    session.commit()
    return session.scalar(select(AbnormalListing))


def _on(day: dt.date):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=TZ), tick=False)


def test_the_list_shows_the_candidate_with_its_deadline(app, world, listing):
    with _on(listing.deadline):
        client, _ = _client(app, "admin_a")
        html = client.get("/console/abnormal-listings").get_data(as_text=True)
    assert "香河县恒达商贸有限公司" in html and listing.deadline.isoformat() in html
    assert '<strong class="warn">已逾期' not in html


def test_a_candidate_past_its_deadline_is_marked_overdue(app, world, listing):
    with _on(listing.deadline + dt.timedelta(days=1)):
        client, _ = _client(app, "admin_a")
        html = client.get("/console/abnormal-listings?overdue=1").get_data(as_text=True)
    assert '<strong class="warn">已逾期' in html and "香河县恒达商贸有限公司" in html


def test_listing_from_the_detail_page_sets_the_flag(app, world, listing, session):
    client, csrf = _client(app, "admin_a")
    url = f"/console/abnormal-listings/{listing.id}"
    response = client.post(f"{url}/list", data={"csrf_token": csrf, "reason": ""})
    assert response.status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert "已列入" in html and "列入经营异常名录" in html
    session.expire_all()
    assert listing.entity.abnormal_listed


def test_dismissing_without_a_reason_shows_the_error_and_changes_nothing(
    app, world, listing, session
):
    client, csrf = _client(app, "admin_a")
    url = f"/console/abnormal-listings/{listing.id}"
    response = client.post(f"{url}/dismiss", data={"csrf_token": csrf}, follow_redirects=True)
    assert "请填写理由" in response.get_data(as_text=True)
    session.expire_all()
    assert listing.status == "candidate"


def test_another_department_gets_not_found(app, world, listing):
    client, csrf = _client(app, "admin_b")
    url = f"/console/abnormal-listings/{listing.id}"
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/list", data={"csrf_token": csrf}).status_code == 404
    assert "香河县" not in client.get("/console/abnormal-listings").get_data(as_text=True)


def test_an_inspector_reads_but_cannot_decide(app, world, listing):
    client, csrf = _client(app, "insp_a")
    url = f"/console/abnormal-listings/{listing.id}"
    html = client.get(url).get_data(as_text=True)
    assert "香河县恒达商贸有限公司" in html and 'id="action-list"' not in html
    assert client.post(f"{url}/list", data={"csrf_token": csrf}).status_code == 403


def test_the_entity_page_shows_its_credit_events(app, world, listing):
    client, _ = _client(app, "admin_a")
    html = client.get(f"/console/entities/{listing.entity_id}").get_data(as_text=True)
    assert "信用事件" in html and "住所无法联系" in html and "抽查结果公示" in html
    assert f"/console/abnormal-listings/{listing.id}" in html


def test_the_outbox_page_is_for_the_system_administrator(app, world, session):
    outbox.enqueue(session, channel="sms", recipient="13800000000", body="到期提醒")
    session.commit()
    client, _ = _client(app, "root")
    html = client.get("/console/outbox?channel=sms").get_data(as_text=True)
    assert "13800000000" in html and "待发送" in html
    other, _ = _client(app, "admin_a")
    assert other.get("/console/outbox").status_code == 403


def test_the_risk_class_file_is_uploaded_from_the_import_page(app, world, db):
    import io

    from shuangsuiji.worker import Worker

    client, csrf = _client(app, "admin_a")
    assert "信用风险分类（月度）" in client.get("/console/imports").get_data(as_text=True)
    content = "统一社会信用代码,信用风险分类,分类月份\n911310240000000099,Q,2030-06\n".encode()
    response = client.post(
        "/console/imports",
        data={"csrf_token": csrf, "kind": "risk_classes", "file": (io.BytesIO(content), "r.csv")},
    )
    assert response.status_code == 302
    Worker(db, app.config).run_one()
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "信用风险分类（月度）" in html and "信用风险分类无效" in html


def _listing_row(department, entity, n, deadline, status=ListingStatus.CANDIDATE):
    return AbnormalListing(
        department_id=department.id,
        entity_id=entity.id,
        source=f"inspection:{n}",
        rule="R1",
        result_code="6",
        ground=f"无法联系 第{n}号",
        verified_on=CHECKED,
        deadline=deadline,
        status=status,
    )


def _ids(html):
    return [int(i) for i in re.findall(r'href="/console/abnormal-listings/(\d+)"', html)]


def _next(html):
    found = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_all_department_list_pages_past_500(app, world, session):
    """The system administrator's list of every department reaches every record (it stopped at
    500 rows without a word), newest first, 50 a page."""
    a = factories.EntityFactory(department=world["a"])
    b = factories.EntityFactory(department=world["b"])
    rows = [
        _listing_row(world["a"] if n % 2 else world["b"], a if n % 2 else b, n, CHECKED)
        for n in range(530)
    ]
    session.add_all(rows)
    session.commit()
    client, _token = _client(app, "root")
    url, seen, pages = "/console/abnormal-listings", [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert len(_ids(html)) <= web_credit.LISTINGS_PER_PAGE
        seen += _ids(html)
        pages += 1
        url = _next(html)
    assert seen == sorted((r.id for r in rows), reverse=True)  # each once, newest first
    assert pages == 11 and "已到最后一页" in html and "回到第一页" in html


def test_the_open_work_pages_by_deadline_and_keeps_the_filter(app, world, session, monkeypatch):
    monkeypatch.setattr(web_credit, "LISTINGS_PER_PAGE", 2)
    entity = factories.EntityFactory(department=world["a"])
    day = dt.date(2030, 4, 1)
    rows = [
        _listing_row(world["a"], entity, 1, day),
        _listing_row(world["a"], entity, 2, day - dt.timedelta(days=5)),
        _listing_row(world["a"], entity, 3, day, ListingStatus.LISTED),
        _listing_row(world["a"], entity, 4, day - dt.timedelta(days=2)),
        _listing_row(world["a"], entity, 5, day + dt.timedelta(days=9)),
    ]
    session.add_all(rows)
    session.commit()
    client, _token = _client(app, "admin_a")
    first = client.get("/console/abnormal-listings?status=candidate").get_data(as_text=True)
    assert _ids(first) == [rows[1].id, rows[3].id]
    second = _next(first)
    assert "status=candidate" in second
    second_html = client.get(second).get_data(as_text=True)
    assert _ids(second_html) == [rows[0].id, rows[4].id]
    assert _next(second_html) is None
    with _on(day):  # overdue: the candidates whose deadline passed, by deadline
        later, _token = _client(app, "admin_a")
        html = later.get("/console/abnormal-listings?overdue=1").get_data(as_text=True)
    assert _ids(html) == [rows[1].id, rows[3].id] and _next(html) is None
    response = client.get("/console/abnormal-listings?cursor=nonsense")
    assert response.status_code == 422 and "分页游标无效" in response.get_data(as_text=True)


def test_the_outbox_page_reaches_every_message(app, world, session, monkeypatch):
    """Newest first, page by page (it showed the newest 200 and hid the rest)."""
    monkeypatch.setattr(web_credit, "OUTBOX_PER_PAGE", 2)
    made = [
        outbox.enqueue(session, channel="sms", recipient=f"1380000000{n}", body="到期提醒")
        for n in range(5)
    ]
    session.commit()
    client, _ = _client(app, "root")
    url, seen = "/console/outbox?channel=sms", []
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += re.findall(r"1380000000(\d)", html)
        url = _next(html)
    assert seen == [str(n) for n in reversed(range(5))] and len(made) == 5
    assert "1380000000" not in client.get("/console/outbox?channel=email").get_data(as_text=True)
