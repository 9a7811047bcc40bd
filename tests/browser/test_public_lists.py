"""The public lists a citizen browses (抽取结果, 抽查任务与承诺, 检查结果查询) in a real browser at
1280 px and on a 390 px phone: reached from the navigation, no sideways scrolling, the filters
and the pager usable, no WCAG A/AA violation. Screenshots go to tests/browser/artifacts/."""

from __future__ import annotations

import pytest

from shuangsuiji.db import Draw

from . import axe, result_world
from .result_world import PHONE, shot

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def world(live_app):
    drawn = result_world.drawn(live_app)
    _, uscc = result_world.entered(live_app, drawn, 0, approve=True)
    with live_app.extensions["shuangsuiji.db"].transaction() as session:
        department_id = session.get(Draw, drawn["draw_id"]).plan.department_id
    return {"draw_id": drawn["draw_id"], "uscc": uscc, "department_id": department_id}


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    axe.install(context)
    page = context.new_page()
    yield page
    context.close()


def _width(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


@pytest.mark.parametrize(("size", "viewport"), [("1280", DESKTOP), ("390", PHONE)])
def test_the_public_draws_list(page, base_url, world, size, viewport):
    page.set_viewport_size(viewport)
    page.goto(base_url + "/")
    page.get_by_role("navigation", name="公示网站栏目").get_by_role("link", name="抽取结果").click()
    page.wait_for_selector("h1:has-text('抽取结果')")
    assert _width(page) <= viewport["width"], f"{_width(page)}px wide"
    row = page.locator(f"#draw-{world['draw_id']}")
    link = row.get_by_role("link", name=f"查看抽取结果 #{world['draw_id']}")
    assert link.is_visible() and link.bounding_box()["width"] > 0
    shot(page, f"public-draws-{size}")
    # Filter by a department and then by one of its matters, as a citizen would.
    page.select_option("select[name=department]", str(world["department_id"]))
    page.click("#draw-filters button[type=submit]")
    page.select_option("select[name=matter]", index=1)
    page.click("#draw-filters button[type=submit]")
    page.wait_for_selector(f"#draw-{world['draw_id']}")
    assert "matter=" in page.url and _width(page) <= viewport["width"]
    shot(page, f"public-draws-filtered-{size}")
    found = axe.violations(page)
    assert found == [], axe.report("/public/draws", found)
    page.locator(f"#draw-{world['draw_id']} a").click()
    page.wait_for_selector(f"h1:has-text('抽取结果 #{world['draw_id']}')")


@pytest.mark.parametrize("path", ["/public/plans", "/public/results?q={uscc}"])
def test_the_other_public_lists_fit_a_phone(page, base_url, world, path):
    page.set_viewport_size(PHONE)
    page.goto(base_url + path.format(uscc=world["uscc"]))
    assert _width(page) <= PHONE["width"], f"{path} is {_width(page)}px wide"
    found = axe.violations(page)
    assert found == [], axe.report(path, found)
