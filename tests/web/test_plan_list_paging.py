"""/console/plans: newest first, page by page (it listed every plan on one page), filtered by
status, year, department and matter."""

from __future__ import annotations

import datetime as dt
import re

import time_machine

from shuangsuiji.web import plans as plan_views

from .. import factories
from ..conftest import login


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client


def _codes(html):
    return re.findall(r'href="/console/plans/\d+">([A-Z0-9-]+)</a>', html)


def _next(html):
    found = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _walk(client, url):
    codes, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        codes += _codes(html)
        pages += 1
        url = _next(html)
    return codes, pages


def test_plans_page_and_filter(app, session, world, registry, monkeypatch):
    monkeypatch.setattr(plan_views, "PLANS_PER_PAGE", 2)
    admin = world["admin_a"]
    with time_machine.travel(dt.datetime(2019, 6, 1, 2, tzinfo=dt.UTC), tick=True):
        factories.PlanFactory(actor=admin, code="OLD-2019")
    for n in range(3):
        matters = [registry["matter"]] if n % 2 else []
        factories.PlanFactory(actor=admin, code=f"NEW-{n}", matters=matters)
    factories.PlanFactory(actor=world["admin_b"], code="B-0")
    session.commit()
    client = _client(app, "admin_a")
    assert _walk(client, "/console/plans") == (["NEW-2", "NEW-1", "NEW-0", "OLD-2019"], 2)
    assert _walk(client, "/console/plans?year=2019") == (["OLD-2019"], 1)
    html = client.get("/console/plans?year=2019").get_data(as_text=True)
    assert '<option value="2019" selected>' in html  # the years reach back to the first plan
    matter = registry["matter"].id
    assert _walk(client, f"/console/plans?matter={matter}") == (["NEW-1"], 1)
    first = client.get("/console/plans?status=draft").get_data(as_text=True)
    assert "status=draft" in _next(first) and "回到第一页" not in first
    assert "回到第一页" in client.get(_next(first)).get_data(as_text=True)
    root = _client(app, "root")  # every department; the department filter
    assert _walk(root, "/console/plans")[0] == ["B-0", "NEW-2", "NEW-1", "NEW-0", "OLD-2019"]
    assert _walk(root, f"/console/plans?department={world['b'].id}") == (["B-0"], 1)
    other = _client(app, "admin_b")  # never another department's plans
    assert _walk(other, f"/console/plans?department={world['a'].id}") == ([], 1)
    response = client.get("/console/plans?cursor=nonsense")
    assert response.status_code == 422 and "分页游标无效" in response.get_data(as_text=True)
    response = client.get("/console/plans?year=1")
    assert response.status_code == 422 and "年份无效" in response.get_data(as_text=True)
