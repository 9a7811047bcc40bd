"""Accessibility in a real browser: axe-core finds no WCAG 2.1 A/AA violation on the public
pages and the main console pages, text follows the reader's font-size setting, the public
reading aids persist, the skip link and the focus ring work from the keyboard.

Screenshots at 1280 px and 390 px go to tests/browser/artifacts/ (git-ignored) for review.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shuangsuiji.db import Draw, Entity

from . import axe, result_world
from .result_world import PHONE, shot
from .test_console import _login

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def world(live_app):
    drawn = result_world.drawn(live_app)
    _, uscc = result_world.entered(live_app, drawn, 0, approve=True)
    result_world.entered(live_app, drawn, 2)
    database = live_app.extensions["shuangsuiji.db"]
    with database.transaction() as session:
        draw = session.get(Draw, drawn["draw_id"])
        entity = session.scalar(select(Entity).where(Entity.uscc == uscc))
        return {
            "draw_id": draw.id,
            "plan_id": draw.plan_id,
            "uscc": uscc,
            "entity_id": entity.id,
        }


@pytest.fixture
def axe_page(browser):
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    axe.install(context)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    yield page
    context.close()


def _public_pages(world):
    return {
        "public-home": "/",
        "public-matters": "/matters",
        "public-plans": "/public/plans",
        "public-draw": f"/public/draws/{world['draw_id']}",
        "public-results": f"/public/results?q={world['uscc']}",
        "public-firm": f"/public/firms/{world['uscc']}",
        "public-checkpoints": "/audit-checkpoints",
        "console-login": "/console/login",
        "not-found": "/no-such-page",
    }


def _console_pages(world):
    return {
        "console-dashboard": "/console/",
        "console-entities": "/console/entities",
        "console-entity": f"/console/entities/{world['entity_id']}",
        "console-entity-new": "/console/entities/new",
        "console-inspectors": "/console/inspectors",
        "console-matters": "/console/matters",
        "console-plans": "/console/plans",
        "console-plan-new": "/console/plans/new",
        "console-plan": f"/console/plans/{world['plan_id']}",
        "console-ceremony": f"/console/plans/{world['plan_id']}/ceremony",
        "console-draw": f"/console/draws/{world['draw_id']}",
        "console-notice": f"/console/draws/{world['draw_id']}/notices/0",
        "console-result": f"/console/draws/{world['draw_id']}/results/2",
        "console-results": "/console/results",
        "console-listings": "/console/abnormal-listings",
        "console-statistics": "/console/statistics",
        "console-imports": "/console/imports",
        "console-users": "/console/users",
        "console-audit": "/console/audit",
    }


def _check(page, base_url, pages) -> list[str]:
    failures = []
    for name, path in pages.items():
        response = page.goto(base_url + path)
        page.wait_for_load_state("networkidle")
        expected = 404 if name == "not-found" else 200
        assert (
            response.status == expected and "/login" not in page.url or name == "console-login"
        ), f"{name}: {response.status} {page.url}"
        found = axe.violations(page)
        if found:
            failures.append(axe.report(f"{name} {path}", found))
    return failures


def test_public_pages_have_no_wcag_a_or_aa_violations(axe_page, base_url, world):
    failures = _check(axe_page, base_url, _public_pages(world))
    assert not failures, "\n\n".join(failures)


def test_public_pages_in_high_contrast_and_large_text_have_no_violations(axe_page, base_url, world):
    axe_page.goto(base_url + "/")
    axe_page.click("button[data-aid=contrast]")
    axe_page.click("button[data-aid=large]")
    failures = _check(axe_page, base_url, _public_pages(world))
    assert not failures, "\n\n".join(failures)


def test_console_pages_have_no_wcag_a_or_aa_violations(axe_page, base_url, world):
    _login(axe_page, base_url, "lf_admin")
    axe_page.wait_for_selector("text=工作台")
    failures = _check(axe_page, base_url, _console_pages(world))
    assert not failures, "\n\n".join(failures)


def test_the_inspectors_pages_have_no_violations(axe_page, base_url, world):
    _login(axe_page, base_url, "lf_zhangwei")
    axe_page.wait_for_selector("text=工作台")
    pages = {
        "my-tasks": "/console/my-tasks",
        "result-entry": f"/console/draws/{world['draw_id']}/results/0",
    }
    failures = _check(axe_page, base_url, pages)
    assert not failures, "\n\n".join(failures)


def test_axe_runs_and_finds_a_planted_violation(axe_page, base_url):
    axe_page.goto(base_url + "/")
    assert axe_page.evaluate("() => axe.version") == "4.14.1"
    axe_page.evaluate(
        """() => {
            const img = document.createElement("img");
            img.src = "/static/favicon.svg";
            document.querySelector("main").appendChild(img);
            const p = document.createElement("p");
            p.textContent = "浅灰文字";
            p.style.color = "#c8ccd0";
            document.querySelector("main").appendChild(p);
        }"""
    )
    found = {v["id"] for v in axe.violations(axe_page)}
    assert {"image-alt", "color-contrast"} <= found


def _font_px(page, selector):
    return page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)")


def test_text_follows_the_readers_font_size_setting(axe_page, base_url, world):
    axe_page.goto(base_url + "/matters")
    assert _font_px(axe_page, "main p") == 16  # body text at the browser's default
    assert _font_px(axe_page, ".public-footer") >= 14
    # the reader sets a larger default font size in the browser (chrome://settings/fonts)
    cdp = axe_page.context.new_cdp_session(axe_page)
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 24, "fixed": 20}})
    axe_page.reload()
    assert _font_px(axe_page, "main p") == 24
    assert _font_px(axe_page, ".public-footer") == 21  # 0.875rem follows too
    assert _font_px(axe_page, "h1") > 24


def test_large_text_and_high_contrast_persist_across_pages(axe_page, base_url, world):
    axe_page.goto(base_url + "/")
    large = axe_page.locator("button[data-aid=large]")
    assert large.get_attribute("aria-pressed") == "false"
    large.click()
    assert large.get_attribute("aria-pressed") == "true"
    assert _font_px(axe_page, "main p") == 20
    axe_page.click("button[data-aid=contrast]")
    axe_page.goto(base_url + "/matters")
    html_class = axe_page.get_attribute("html", "class")
    assert "aid-large" in html_class and "aid-contrast" in html_class
    assert axe_page.locator("button[data-aid=contrast]").get_attribute("aria-pressed") == "true"
    background = axe_page.eval_on_selector("body", "e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(0, 0, 0)"
    shot(axe_page, "a11y-public-matters-large-contrast-1280")
    axe_page.set_viewport_size(PHONE)
    shot(axe_page, "a11y-public-matters-large-contrast-390")
    axe_page.click("button[data-aid=large]")  # off again, remembered as off
    axe_page.reload()
    assert "aid-large" not in axe_page.get_attribute("html", "class")
    assert _font_px(axe_page, "main p") == 16


def test_the_skip_link_is_the_first_stop_and_moves_focus_to_main(axe_page, base_url, world):
    _login(axe_page, base_url, "lf_admin")
    axe_page.wait_for_selector("text=工作台")
    axe_page.keyboard.press("Tab")
    focused = axe_page.evaluate("() => document.activeElement.textContent")
    assert focused == "跳到正文"
    box = axe_page.locator(".skip-link").bounding_box()
    assert box["y"] >= 0  # shown when focused
    axe_page.keyboard.press("Enter")
    assert axe_page.evaluate("() => document.activeElement.id") == "main"
    axe_page.keyboard.press("Tab")  # the next stop is inside the content, not the menu
    inside = axe_page.evaluate(
        "() => document.querySelector('main').contains(document.activeElement)"
    )
    assert inside


def test_a_red_button_shows_a_strong_focus_ring(axe_page, base_url, world):
    axe_page.goto(base_url + "/console/login")
    axe_page.fill("input[name=username]", "x")
    axe_page.keyboard.press("Tab")
    axe_page.keyboard.press("Tab")  # past the password field to the red 登录 button
    style = axe_page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth,
                           s.outlineColor, s.boxShadow]; }"""
    )
    tag, outline, width, colour, shadow = style
    assert tag == "BUTTON" and outline == "solid" and width == "3px"
    assert colour == "rgb(255, 191, 0)" and "rgb(11, 12, 12)" in shadow


def test_screenshots_of_the_changed_pages(axe_page, base_url, world):
    public = _public_pages(world)
    console = _console_pages(world)
    for size, viewport in (("1280", DESKTOP), ("390", PHONE)):
        axe_page.set_viewport_size(viewport)
        for name in ("public-home", "public-matters", "public-draw", "public-firm"):
            axe_page.goto(base_url + public[name])
            shot(axe_page, f"a11y-{name}-{size}")
    _login(axe_page, base_url, "lf_admin")
    axe_page.wait_for_selector("text=工作台")
    for size, viewport in (("1280", DESKTOP), ("390", PHONE)):
        axe_page.set_viewport_size(viewport)
        for name in (
            "console-entity",
            "console-plan",
            "console-draw",
            "console-audit",
            "console-ceremony",
        ):
            axe_page.goto(base_url + console[name])
            shot(axe_page, f"a11y-{name}-{size}")


@pytest.mark.parametrize("path", ["/", "/matters", "/public/plans", "/console/login"])
def test_public_pages_fit_a_320px_screen(axe_page, base_url, world, path):
    axe_page.set_viewport_size({"width": 320, "height": 640})
    axe_page.goto(base_url + path)
    width = axe_page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 320, f"{path} is {width}px wide"
    if path == "/matters":
        shot(axe_page, "a11y-public-matters-320")


def test_console_pages_fit_a_phone_and_pass_axe_there(axe_page, base_url, world):
    """At 390 px nothing pushes the page sideways: a wide table scrolls inside itself, and
    that scrolling table is reachable by keyboard (axe: scrollable-region-focusable)."""
    _login(axe_page, base_url, "lf_admin")
    axe_page.wait_for_selector("text=工作台")
    axe_page.set_viewport_size(PHONE)
    wide, failures = [], []
    for name, path in _console_pages(world).items():
        axe_page.goto(base_url + path)
        width = axe_page.evaluate("() => document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide.append(f"{name}: {width}px")
        found = axe.violations(axe_page)
        if found:
            failures.append(axe.report(f"{name} {path} at 390 px", found))
    assert not wide, wide
    assert not failures, "\n\n".join(failures)
    axe_page.goto(base_url + "/console/entities")
    table = axe_page.locator("table.registry")
    assert table.get_attribute("tabindex") == "0"  # it scrolls, so the keyboard reaches it
    assert "可左右滚动" in table.get_attribute("aria-label")
