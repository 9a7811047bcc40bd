"""抽取结果 (/public/draws and GET /api/v1/public/draws): every draw stays reachable page by page
back to the first one, filtered by year, department and matter, each row linking to the draw's
own public page (一公开)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import event

from shuangsuiji.services import pages
from shuangsuiji.services.plans import draws as draw_service
from shuangsuiji.services.plans import plans, public_plans
from shuangsuiji.web import public

from .. import factories
from ..api.test_cursor_paging import check_bad_cursors, check_paging
from ..draw_world import DICE, TODAY


@pytest.fixture
def history(session, world, registry):
    """Department A's draws: the oldest in 2019, then four (the second and fourth checking the
    registry's matter), then a redraw of the last one; a committed plan not drawn yet."""
    admin = world["admin_a"]
    with time_machine.travel(dt.datetime(2019, 3, 1, 2, tzinfo=dt.UTC), tick=True):
        made = [factories.DrawFactory(actor=admin, commitment__plan__code="OLDEST-2019")]
    for n in range(4):
        matters = [registry["matter"]] if n % 2 else []
        plan = factories.PlanFactory(actor=admin, matters=matters, code=f"PLAN-{n}")
        made.append(factories.DrawFactory(actor=admin, commitment__plan=plan))
    again = plans.commit(
        session, actor=admin, plan_id=made[-1].plan_id, today=TODAY, reason="名录导入有误"
    )
    made.append(draw_service.execute(session, actor=admin, commitment_id=again.id, randomness=DICE))
    factories.CommitmentFactory(actor=admin)  # committed, not drawn: no draw to list
    session.commit()
    return made


def _ids(history):
    return [d.id for d in reversed(history)]


def _draw_id(item):
    return item["draw_id"]


def test_the_api_pages_back_to_the_first_draw(app, world, registry, history):
    client = app.test_client()  # anonymous
    newest = _ids(history)
    responses = check_paging(client, "/api/v1/public/draws", newest, limit=2, id_of=_draw_id)
    assert len(responses) == 3  # first, middle, last
    last = responses[-1].get_json()["items"][-1]
    assert last["plan_code"] == "OLDEST-2019" and last["drawn_at"].startswith("2019-03-01")
    first = responses[0].get_json()["items"]
    assert first[0]["supersedes"] == first[1]["draw_id"] == history[-2].id
    assert first[1]["superseded_by"] == history[-1].id
    check_paging(client, "/api/v1/public/draws?year=2019", [history[0].id], id_of=_draw_id)
    check_paging(client, "/api/v1/public/draws?year=2018", [], id_of=_draw_id)
    year = history[-1].created_at.astimezone(public_plans.BEIJING).year
    check_paging(client, f"/api/v1/public/draws?year={year}", newest[:-1], id_of=_draw_id)
    a, b = world["a"].id, world["b"].id
    check_paging(client, f"/api/v1/public/draws?department_id={a}", newest, id_of=_draw_id)
    check_paging(client, f"/api/v1/public/draws?department_id={b}", [], id_of=_draw_id)
    matter = registry["matter"].id
    responses = check_paging(
        client,
        f"/api/v1/public/draws?matter_id={matter}&department_id={a}",
        [history[-1].id, history[-2].id, history[2].id],  # PLAN-3 (drawn twice), PLAN-1
        limit=2,
        id_of=_draw_id,
    )
    assert f"matter_id={matter}" in responses[0].get_json()["next"]  # the filters travel
    past = pages.encode_cursor(public_plans.NEWEST_DRAWS, [history[0].id])
    assert client.get(f"/api/v1/public/draws?cursor={past}").get_json() == {
        "items": [],
        "next": None,
        "limit": 50,
    }
    check_bad_cursors(client, "/api/v1/public/draws", past)
    assert client.get("/api/v1/public/draws?year=1999").status_code == 422


def test_no_draw_yet_is_an_empty_list(app, session, world):
    session.commit()
    check_paging(app.test_client(), "/api/v1/public/draws", [], id_of=_draw_id)
    html = app.test_client().get("/public/draws").get_data(as_text=True)
    assert "尚无抽取结果" in html and "已到最后一页" in html


def _draw_links(html):
    return [int(i) for i in re.findall(r'<a href="/public/draws/(\d+)">查看抽取结果', html)]


def _next(html):
    found = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_page_reaches_the_first_draw_and_keeps_its_filters(
    app, session, world, registry, history, monkeypatch
):
    monkeypatch.setattr(public, "PUBLIC_DRAWS_PER_PAGE", 2)
    client = app.test_client()
    home = client.get("/").get_data(as_text=True)
    assert 'href="/public/draws">抽取结果</a>' in home  # in the public navigation
    url, texts, seen = "/public/draws", [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        texts.append(html)
        seen += _draw_links(html)
        url = _next(html)
    assert seen == _ids(history) and len(texts) == 3
    assert "回到第一页" in texts[1] and "已到最后一页" in texts[-1]
    assert "OLDEST-2019" in texts[-1] and "已被 #" in texts[0] and "重新抽取，取代 #" in texts[0]
    html = client.get("/public/draws?year=2019").get_data(as_text=True)
    assert _draw_links(html) == [history[0].id] and '<option value="2019" selected>' in html
    html = client.get(f"/public/draws?department={world['b'].id}").get_data(as_text=True)
    assert _draw_links(html) == [] and "没有符合条件的抽取结果" in html
    matter = registry["matter"]
    html = client.get(f"/public/draws?department={world['a'].id}&matter={matter.id}").get_data(
        as_text=True
    )
    assert _draw_links(html) == _ids(history)[:2] and f'value="{matter.id}" selected' in html
    following = _next(html)
    assert f"matter={matter.id}" in following and f"department={world['a'].id}" in following
    assert _draw_links(client.get(following).get_data(as_text=True)) == [history[2].id]
    # The matter filter stays visible (and can be unticked) whatever the department shown.
    html = client.get(f"/public/draws?matter={matter.id}").get_data(as_text=True)
    assert f'name="matter" value="{matter.id}" checked' in html
    assert _draw_links(html) == [history[-1].id, history[-2].id]
    assert _draw_links(client.get(_next(html)).get_data(as_text=True)) == [history[2].id]
    other = factories.MatterFactory(department=world["b"])
    session.commit()
    url = f"/public/draws?department={world['a'].id}&matter={other.id}"
    html = client.get(url).get_data(as_text=True)
    assert f'<option value="{other.id}" selected>所选的其他部门事项</option>' in html
    assert "没有符合条件的抽取结果" in html
    past = pages.encode_cursor(public_plans.NEWEST_DRAWS, [history[0].id])
    html = client.get(f"/public/draws?cursor={past}").get_data(as_text=True)
    assert "后面没有更多抽取结果了" in html and "回到第一页" in html
    response = client.get("/public/draws?cursor=nonsense")
    assert response.status_code == 422 and "分页游标无效" in response.get_data(as_text=True)
    response = client.get("/public/draws?year=99999")
    assert response.status_code == 422 and "年份无效" in response.get_data(as_text=True)


def test_a_page_costs_the_same_statements_for_two_draws_as_for_six(app, history):
    """draws_page reads a page's commitments, redraws and batch ends in one statement each."""
    engine = app.extensions["shuangsuiji.db"].engine
    client = app.test_client()

    def statements(url):
        seen = []

        def count(*_args):
            seen.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            response = client.get(url)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return len(seen), response

    small, two = statements("/api/v1/public/draws?limit=2")
    large, six = statements("/api/v1/public/draws?limit=6")
    assert len(two.get_json()["items"]) == 2 and len(six.get_json()["items"]) == 6
    assert large == small
    assert statements("/public/draws")[0] <= small + 3  # the filters' years and departments
