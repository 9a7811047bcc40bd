"""The 工作台 as counts: what waits for this user at the top (待审核, 列入候选, 即将到期,
已逾期; an inspector's visits to enter and returned), each linking to the list it counts; the
system administrator's sees the open tasks as counts by stage, never a row per task; an
inspector's menu holds what an inspector uses."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine

from shuangsuiji.services.results import credit, results

from .. import factories, results_world
from ..conftest import login

NOON = dt.datetime(2026, 11, 20, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def w(session, world):
    return results_world.drawn(session, world)


def _page(app, username, url="/console/"):
    client = app.test_client()
    login(client, username)
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _count(html: str, name: str) -> tuple[int, str]:
    """The number on a count card and where it links."""
    found = re.search(
        rf'<a class="card" href="([^"]+)" id="count-{name}"><span class="num[^"]*">(\d+)<', html
    )
    assert found, name
    return int(found.group(2)), found.group(1).replace("&amp;", "&")


def test_an_administrator_sees_what_waits_as_counts_with_links(app, session, world, w):
    results_world.enter(session, w, world["admin_a"], position=0)  # 待审核
    credit.on_result_published(  # a result of code 6 opens a listing candidate
        session,
        actor=world["admin_a"],
        entity_id=w["entity"].id,
        department_id=world["a"].id,
        inspection_ref="inspection:1",
        codes=["6"],
        checked_on=w["checked_on"],
        published_at=dt.datetime.now(dt.UTC),
    )
    session.commit()
    html = _page(app, "admin_a")
    assert html.index('id="waiting"') < html.index("任务进度与期限")
    assert _count(html, "to-review") == (1, "/console/results?status=submitted")
    assert _count(html, "candidates") == (1, "/console/abnormal-listings?status=candidate")
    assert _count(html, "soon")[1] == "/console/deadlines?state=soon"
    assert _count(html, "overdue")[1] == "/console/deadlines?state=overdue"
    # The lists say the same.
    listed = _page(app, "admin_a", "/console/results?status=submitted")
    assert listed.count(f"/console/draws/{w['draw'].id}/results/") >= 1
    other = _page(app, "admin_b")
    assert _count(other, "to-review")[0] == 0 and _count(other, "candidates")[0] == 0


@time_machine.travel(NOON, tick=False)
def test_the_system_administrator_sees_counts_by_stage_not_rows(app, session, world, registry):
    codes = []
    for n, end in enumerate(("2026-10-30", "2026-11-24", "2026-12-30")):
        plan = factories.DrawFactory(
            actor=world["admin_a"],
            commitment__plan__code=f"ROW-{n}",
            commitment__plan__matters=[registry["matter"]],
            commitment__plan__fieldwork_start="2026-10-12",
            commitment__plan__fieldwork_end=end,
            commitment__plan__exclude_open=False,
        ).plan
        codes.append(plan.code)
    session.commit()
    html = _page(app, "root")
    assert not any(code in html for code in codes)  # no row per task
    assert 'class="progress"' not in html
    stages = re.findall(r'<a href="(/console/deadlines\?stage=\w+)">[^<]+</a></td><td>(\d+)<', html)
    assert sum(int(n) for _url, n in stages) == 3
    for url, n in stages:
        listed = _page(app, "root", url)
        assert sum(code in listed for code in codes) == int(n)
    overdue, url = _count(html, "overdue")
    assert overdue == 1 and "ROW-0" in _page(app, "root", url)
    soon, url = _count(html, "soon")
    assert soon == 1 and "ROW-1" in (listed := _page(app, "root", url)) and "ROW-2" not in listed
    # A department administrator keeps the rows of their own tasks.
    assert all(code in _page(app, "admin_a") for code in codes)


def test_an_inspector_sees_their_own_work_and_their_own_menu(app, session, world, w):
    results_world.enter(session, w, world["insp_a"], position=w["row"].drawn.position)
    results.review(
        session,
        actor=world["admin_a"],
        draw_id=w["draw"].id,
        position=w["row"].drawn.position,
        decision="return",
        comment="请补充照片",
    )
    session.commit()
    html = _page(app, "insp_a")
    returned, url = _count(html, "returned")
    assert returned == 1 and url == "/console/my-tasks"
    to_enter, _ = _count(html, "to-enter")
    assert to_enter >= 1
    assert 'id="figures"' not in html and "任务进度与期限" not in html
    nav = html[html.index('<nav class="sidenav"') : html.index("</nav>")]
    assert "我的检查任务" in nav and "检查对象" in nav
    for menu in ("抽查事项", "执法人员", "部门", "用户", "API 令牌", "抽查任务", "经营异常名录"):
        assert f">{menu}<" not in nav, menu
    # The access rules are unchanged: the pages are still there for an inspector.
    for url in ("/console/matters", "/console/tokens", "/console/plans"):
        assert _page(app, "insp_a", url)
    admin_nav = _page(app, "admin_a")
    admin_nav = admin_nav[admin_nav.index('<nav class="sidenav"') : admin_nav.index("</nav>")]
    assert ">抽查事项<" in admin_nav and ">我的检查任务<" not in admin_nav
