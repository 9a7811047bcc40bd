"""统计分析 in a real browser at 1280 px and on a 390 px phone: the drill-down from the top
departments to a city's counties, the estimates with 样本不足, no sideways scrolling, no WCAG
A/AA violation. Screenshots go to tests/browser/artifacts/."""

from __future__ import annotations

import pytest

from shuangsuiji.cli.demo_data import DEMO_STAFF_PASSWORD

from . import axe, result_world
from .result_world import PHONE, shot

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def world(live_app):
    drawn = result_world.drawn(live_app)
    for position in range(3):
        result_world.entered(live_app, drawn, position, approve=True)
    return drawn


def _fits(page, viewport):
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{width}px wide"


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    axe.install(context)
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.parametrize(("size", "viewport"), [("1280", DESKTOP), ("390", PHONE)])
def test_statistics_drill_down_at_desk_and_phone_width(page, base_url, world, size, viewport):
    page.set_viewport_size(viewport)
    page.goto(f"{base_url}/console/login")
    page.fill("input[name=username]", "auditor")
    page.fill("input[name=password]", DEMO_STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base_url}/console/statistics")
    page.wait_for_selector("h1:has-text('统计分析')")
    shot(page, f"statistics-{size}")
    _fits(page, viewport)
    assert page.locator("text=样本不足").first.is_visible()
    found = axe.violations(page)
    assert found == [], axe.report("/console/statistics", found)
    # Down the levels: the province's bureau, then the city's, whose counties are below it.
    page.locator("table.levels").get_by_role("link", name="河北省市场监督管理局").click()
    page.wait_for_selector("nav.crumbs")
    page.locator("table.levels").get_by_role("link", name="廊坊市市场监督管理局").click()
    page.wait_for_selector("nav.crumbs >> text=廊坊市市场监督管理局（含下级部门）")
    assert "含下级部门" in page.locator("nav.crumbs").inner_text()
    rows = page.locator("table.levels tbody tr")
    assert rows.count() >= 3 and "本级" in rows.nth(0).inner_text()
    shot(page, f"statistics-city-{size}")
    _fits(page, viewport)
    found = axe.violations(page)
    assert found == [], axe.report("/console/statistics?department_id=…", found)
