"""/public/plans: every commitment stays reachable page by page back to the first one, and the
list is filtered by year, department and matter (一公开)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from shuangsuiji.web import public

from .. import factories


@pytest.fixture
def history(session, world, registry):
    """Five committed plans of department A, the oldest committed in 2019; the second and the
    fourth check the registry's matter."""
    admin = world["admin_a"]
    with time_machine.travel(dt.datetime(2019, 3, 1, 2, tzinfo=dt.UTC), tick=True):
        made = [factories.CommitmentFactory(actor=admin, plan__code="OLDEST-2019").plan]
    for n in range(4):
        matters = [registry["matter"]] if n % 2 else []
        plan = factories.PlanFactory(actor=admin, matters=matters, code=f"PLAN-{n}")
        made.append(factories.CommitmentFactory(actor=admin, plan=plan).plan)
    factories.PlanFactory(actor=admin, code="DRAFT-NOT-PUBLIC")
    session.commit()
    return made


def _codes(html):
    return re.findall(r"任务编号 ([A-Z0-9-]+)", html)


def _next(html):
    found = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_pages_reach_the_first_commitment(app, history, monkeypatch):
    monkeypatch.setattr(public, "PUBLIC_PLANS_PER_PAGE", 2)
    client = app.test_client()
    url, pages, seen = "/public/plans", [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        pages.append(html)
        seen += _codes(html)
        url = _next(html)
    assert seen == [p.code for p in reversed(history)]  # newest first, every one, once
    assert len(pages) == 3 and seen[-1] == "OLDEST-2019"
    assert "回到第一页" in pages[1] and "回到第一页" not in pages[0]
    assert "已到最后一页" in pages[-1] and "DRAFT-NOT-PUBLIC" not in "".join(pages)


def test_filters_by_year_department_and_matter(app, world, registry, history, monkeypatch):
    monkeypatch.setattr(public, "PUBLIC_PLANS_PER_PAGE", 2)
    client = app.test_client()
    html = client.get("/public/plans?year=2019").get_data(as_text=True)
    assert _codes(html) == ["OLDEST-2019"] and '<option value="2019" selected>' in html
    assert _codes(client.get("/public/plans?year=2018").get_data(as_text=True)) == []
    html = client.get(f"/public/plans?department={world['b'].id}").get_data(as_text=True)
    assert _codes(html) == [] and "没有符合条件的已承诺抽查任务" in html
    matter = registry["matter"]
    url = f"/public/plans?department={world['a'].id}&matter={matter.id}"
    html = client.get(url).get_data(as_text=True)
    assert _codes(html) == ["PLAN-3", "PLAN-1"] and f'value="{matter.id}" selected' in html
    first = client.get(f"/public/plans?department={world['a'].id}").get_data(as_text=True)
    assert _codes(first) == ["PLAN-3", "PLAN-2"]
    following = _next(first)
    assert f"department={world['a'].id}" in following  # the next page keeps the filter
    assert _codes(client.get(following).get_data(as_text=True)) == ["PLAN-1", "PLAN-0"]


def test_bad_input_is_a_clear_error(app, session, world):
    session.commit()
    client = app.test_client()
    response = client.get("/public/plans?cursor=nonsense")
    assert response.status_code == 422 and "分页游标无效" in response.get_data(as_text=True)
    response = client.get("/public/plans?year=99999")
    assert response.status_code == 422 and "年份无效" in response.get_data(as_text=True)
    assert client.get("/public/plans?cursor=" + "x" * 2000).status_code == 422
