"""An inspector's task list (我的检查任务 and an administrator's view of it): cards with the firm,
a map link, the window and the record's state, the day's work first, keyset pages, and a fixed
number of SQL statements per page however many tasks there are."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import event

from shuangsuiji.services.plans import draws
from shuangsuiji.services.results import worklist

from .. import factories
from ..conftest import csrf_token, login

NOON = dt.datetime(2026, 11, 20, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WINDOWS = {  # plan code: its fieldwork window, as of 2026-11-20
    "NOW": ("2026-11-16", "2026-11-30"),
    "LATER": ("2026-12-01", "2026-12-15"),
    "SOON": ("2026-11-18", "2026-11-25"),
}


@contextmanager
def statements(connection):
    """The SQL statements run on the test's connection inside the block."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


def _draw(world, registry, code):
    start, end = WINDOWS[code]
    return factories.DrawFactory(
        actor=world["admin_a"],
        commitment__plan__code=code,
        commitment__plan__matters=[registry["matter"]],
        commitment__plan__fieldwork_start=start,
        commitment__plan__fieldwork_end=end,
        commitment__plan__exclude_open=False,
    )


def _inspector(session, world, draw):
    inspector = draws.teams(session, draw, limit=1)[0].members[0].inspector
    inspector.user_id = world["insp_a"].id
    session.flush()
    return inspector


def _held(session, world, inspector):
    return draws.held(session, world["sysadmin"], inspector.id)


def _cards(html: str) -> list[str]:
    return re.findall(r'<article class="task-card[^"]*" data-uscc="(\w+)"', html)


@time_machine.travel(NOON, tick=False)
def test_cards_show_the_days_work_first_with_the_records_state(app, session, world, registry):
    later = _draw(world, registry, "LATER")
    now = _draw(world, registry, "NOW")
    # The inspector with the most places in NOW among those with work in both draws (8 inspectors
    # share about 40 places in each; the draws' randomness decides who holds how many).
    both = {
        m.inspector.id: m.inspector
        for row in draws.teams(session, now)
        for m in row.members
        if {later.id, now.id} <= {k[0] for k in _held(session, world, m.inspector)}
    }
    inspector = max(
        both.values(),
        key=lambda i: sum(k[0] == now.id for k in _held(session, world, i)),
    )
    inspector.user_id = world["insp_a"].id
    mine = [k for k in _held(session, world, inspector) if k[0] == now.id]
    assert len(mine) >= 3
    (d1, p1, _), (d2, p2, _), (_, p3, _) = mine[:3]
    factories.InspectionRecordFactory(actor=world["admin_a"], draw=now, position=p1)
    entity = draws.teams(session, now, offset=p1, limit=1)[0].entity
    entity.address = "河北省廊坊市广阳区新华路 1 号"
    factories.InspectionRecordFactory(actor=world["admin_a"], draw=now, position=p2, submit=True)
    session.commit()
    client = app.test_client()
    login(client, "insp_a")
    html = client.get("/console/my-tasks").get_data(as_text=True)
    assert "<table" not in html  # cards, not a table wider than a phone
    cards = worklist.page(
        session, world["insp_a"], inspector.id, today=NOON.date(), cursor=None, limit=100
    ).items
    assert [c.row.drawn.uscc for c in cards] == _cards(html)
    groups = [c.group for c in cards]
    assert groups == sorted(groups) and groups[0] == worklist.Group.TODAY
    by_position = {(c.draw.id, c.row.drawn.position): c for c in cards}
    assert by_position[(d1, p1)].status_label == "草稿"
    assert by_position[(d2, p2)].status_label == "待审核"
    assert by_position[(d2, p2)].group == worklist.Group.SUBMITTED
    assert by_position[(now.id, p3)].status_label == "未录入"
    assert worklist.Group.LATER in groups and "尚未到检查时间" in html
    assert "今天可检查" in html and "已提交，等待审核" in html
    assert html.index("今天可检查") < html.index("已提交，等待审核")
    # The card of the draft: firm, the address as a map search link, window, status, entry.
    card = html[html.index(f'data-position="{p1}"') :]
    card = card[: card.index("</article>")]
    assert entity.name in card and "检查时间：2026-11-16 至 2026-11-30" in card
    assert "还剩 10 天" in card and ">草稿<" in card
    assert (
        'href="https://uri.amap.com/search?keyword=%E6%B2%B3%E5%8C%97' in card
        and entity.address in card
    )
    assert f"/console/draws/{now.id}/results/{p1}" in card and "录入检查结果" in card
    submitted = html[html.index(f'data-position="{p2}"') :]
    assert "查看检查结果" in submitted[: submitted.index("</article>")]


@time_machine.travel(NOON, tick=False)
def test_a_page_costs_the_same_statements_however_many_tasks(
    app, session, world, registry, connection, monkeypatch
):
    from shuangsuiji.web import plans as pages

    first = _draw(world, registry, "NOW")
    inspector = _inspector(session, world, first)
    session.commit()
    client = app.test_client()
    login(client, "insp_a")
    admin = app.test_client()
    login(admin, "admin_a")
    urls = {client: "/console/my-tasks", admin: f"/console/inspectors/{inspector.id}/tasks"}
    client.get("/console/my-tasks")  # warm: the session's first requests load more
    admin.get(urls[admin])

    def cost(who):
        with statements(connection) as seen:
            response = who.get(urls[who])
        assert response.status_code == 200
        return len(seen), len(_cards(response.get_data(as_text=True)))

    few = {who: cost(who) for who in urls}
    for code in ("LATER", "SOON"):
        _draw(world, registry, code)
    for n in range(1, 5):  # the same inspector's records, in several states
        position = _held(session, world, inspector)[n][1]
        draw = session.get(draws.Draw, _held(session, world, inspector)[n][0])
        factories.InspectionRecordFactory(
            actor=world["admin_a"], draw=draw, position=position, submit=n % 2 == 0
        )
    session.commit()
    many = {who: cost(who) for who in urls}
    for who in urls:
        assert many[who][1] > few[who][1] >= 1
        assert many[who][0] == few[who][0], (few[who], many[who])
        assert many[who][0] <= 25
    # Page by page: every page costs the same, every task is reached once.
    monkeypatch.setattr(pages, "TASKS_PER_PAGE", 3)
    url, reached, costs = urls[client], [], []
    while url:
        with statements(connection) as seen:
            html = client.get(url).get_data(as_text=True)
        costs.append(len(seen))
        reached += _cards(html)
        found = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert len(costs) >= 3 and len(set(costs[1:])) == 1
    assert len(reached) == len(_held(session, world, inspector)) == many[client][1]


@time_machine.travel(NOON, tick=False)
def test_a_bad_cursor_is_refused_and_the_finished_tasks_are_by_year(app, session, world, registry):
    draw = _draw(world, registry, "NOW")
    inspector = _inspector(session, world, draw)
    session.commit()
    client = app.test_client()
    login(client, "insp_a")
    assert client.get("/console/my-tasks?cursor=xyz").status_code == 422
    html = client.get("/console/my-tasks?finished=1").get_data(as_text=True)
    assert "2026 年没有已结束的检查任务" in html and 'id="finished-tasks"' not in html
    admin = app.test_client()
    login(admin, "admin_a")
    token = csrf_token(admin, f"/console/plans/{draw.plan.id}")
    response = admin.post(f"/console/plans/{draw.plan.id}/close", data={"csrf_token": token})
    assert response.status_code == 302
    session.expire_all()
    assert _held(session, world, inspector) == []
    closed = draws.held(session, world["sysadmin"], inspector.id, finished=True, year=2026)
    assert len(closed) >= 1
    assert "暂无进行中的检查任务" in client.get("/console/my-tasks").get_data(as_text=True)
    html = client.get("/console/my-tasks?finished=1&year=2026").get_data(as_text=True)
    assert len(_cards(html)) == len(closed)
    html = client.get("/console/my-tasks?finished=1&year=2025").get_data(as_text=True)
    assert _cards(html) == [] and "2025 年没有已结束的检查任务" in html


@time_machine.travel(NOON, tick=False)
def test_the_api_page_costs_the_same_statements_however_many_tasks(
    app, session, world, registry, connection
):
    first = _draw(world, registry, "NOW")
    inspector = _inspector(session, world, first)
    session.commit()
    client = app.test_client()
    login(client, "admin_a")
    url = f"/api/v1/inspectors/{inspector.id}/tasks?limit=200"
    client.get(url)

    def cost():
        with statements(connection) as seen:
            response = client.get(url)
        assert response.status_code == 200
        return len(seen), len(response.get_json()["items"])

    few = cost()
    for code in ("LATER", "SOON"):
        _draw(world, registry, code)
    session.commit()
    many = cost()
    assert many[1] > few[1] >= 1 and many[0] == few[0], (few, many)
