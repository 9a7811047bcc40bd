"""An inspector's day on a 390 px phone: the 工作台's counts, 我的检查任务 as cards (today's
first), entering a result, 保存 (the card and the page say 草稿), a check date outside the
fieldwork window warned at once, 提交审核; and the same pages at 1280 px.

Screenshots are kept under tests/browser/artifacts/ (git-ignored) for review.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from shuangsuiji.db import Department, Inspector, User
from shuangsuiji.services.plans import draws

from .. import draw_world, factories
from .result_world import ARTIFACTS, PHONE, shot
from .test_console import _login

DESKTOP = {"width": 1280, "height": 900}
ADDRESS = "河北省廊坊市广阳区新华路 88 号金源大厦一层东侧商铺"


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture(scope="module")
def day(live_app):
    """lf_zhangwei's work: visits of a plan whose window includes today, one of which is the
    firm to enter, and of a plan whose window opens next month."""
    database = live_app.extensions["shuangsuiji.db"]
    today = _today()
    with database.transaction() as session, factories.bound(session):
        department = session.scalar(select(Department).where(Department.code == "LF-SAMR"))
        admin = session.scalar(select(User).where(User.username == "lf_admin"))
        account = session.scalar(select(User).where(User.username == "lf_zhangwei"))
        for linked in session.scalars(select(Inspector).where(Inspector.user_id == account.id)):
            linked.user_id = None  # the demo may link the account already: use ours
        session.flush()
        registry = draw_world.populate(
            session, department, entities=24, inspectors=4, cert_prefix="77"
        )
        second = factories.MatterFactory(department=department, code="LF-P2", name="食品安全检查")
        windows = {
            "LF-PHONE-NOW": (today - dt.timedelta(days=3), today + dt.timedelta(days=7)),
            "LF-PHONE-NEXT": (today + dt.timedelta(days=20), today + dt.timedelta(days=40)),
        }
        drawn = {
            code: factories.DrawFactory(
                actor=admin,
                commitment__plan__code=code,
                commitment__plan__title="2026 年企业公示信息随机抽查",
                commitment__plan__matters=[registry["matter"], second],
                commitment__plan__fieldwork_start=start.isoformat(),
                commitment__plan__fieldwork_end=end.isoformat(),
                commitment__plan__exclude_open=False,
            )
            for code, (start, end) in windows.items()
        }
        now = drawn["LF-PHONE-NOW"]
        first = draws.teams(session, now, limit=1)[0]
        inspector = first.members[0].inspector
        inspector.user_id = account.id
        first.entity.address = ADDRESS
        session.flush()
        held = draws.held(session, admin, inspector.id)
        return {
            "uscc": first.drawn.uscc,
            "name": first.entity.name,
            "position": first.drawn.position,
            "draw_id": now.id,
            "matters": [registry["matter"].id, second.id],
            "start": windows["LF-PHONE-NOW"][0],
            "held": len(held),
            "later": sum(1 for k in held if k[0] == drawn["LF-PHONE-NEXT"].id),
        }


def _shots(page, name: str) -> None:
    """The whole page, and what the screen shows first (name-screen.png)."""
    shot(page, name)
    page.screenshot(path=str(ARTIFACTS / f"{name}-screen.png"))


def _fits(page) -> None:
    """Nothing wider than the screen (no sideways scrolling)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def test_an_inspectors_day_on_a_phone(page, base_url, day):
    opened = []
    page.on("dialog", lambda d: (opened.append(d.message), d.accept()))
    page.set_viewport_size(PHONE)
    _login(page, base_url, "lf_zhangwei")
    page.wait_for_selector("#waiting")
    nav = page.inner_text("nav.sidenav")
    assert "我的检查任务" in nav and "抽查事项" not in nav and "API 令牌" not in nav
    to_enter = int(page.inner_text("#count-to-enter .num"))
    assert to_enter == day["held"] - day["later"] >= 1
    _fits(page)
    _shots(page, "phone-1-dashboard-390")

    page.click("#count-to-enter")
    page.wait_for_selector(".task-card")
    _fits(page)
    headings = page.locator("h2.task-group").all_inner_texts()
    assert headings[0] == "今天可检查"
    if day["later"]:
        assert headings[-1] == "尚未到检查时间"
    card = page.locator(f"article[data-uscc='{day['uscc']}']")
    assert card.locator(".task-status").inner_text() == "未录入"
    assert ADDRESS in card.inner_text() and "还剩 7 天" in card.inner_text()
    link = card.locator("a.map-link")
    assert link.get_attribute("href").startswith("https://uri.amap.com/search?keyword=")
    box = card.locator("text=录入检查结果").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # reachable on screen
    _shots(page, "phone-2-tasks-390")

    card.locator("text=录入检查结果").click()
    page.wait_for_selector("#result-form")
    assert page.inner_text("#record-status") == "未录入"
    # A date before the window is warned at once (kept if saved); today is inside.
    before = (day["start"] - dt.timedelta(days=1)).isoformat()
    page.fill("#checked-on", before)
    page.wait_for_selector("#checked-on-warning:not([hidden])")
    assert "不在本任务的检查时间" in page.inner_text("#checked-on-warning")
    page.fill("#checked-on", _today().isoformat())
    page.wait_for_selector("#checked-on-warning", state="hidden")
    first, second = day["matters"]
    page.check(f"input[name=m{first}_codes][value='1']")
    page.check(f"input[name=m{first}_methods][value=field]")
    page.check(f"input[name=m{first}_measures][value=none]")
    _shots(page, "phone-3-entry-390")
    page.click("#save")
    page.wait_for_selector("text=检查结果已保存为草稿")
    assert page.inner_text("#record-status") == "草稿"
    _fits(page)
    _shots(page, "phone-4-draft-390")

    # Submitting with a matter missing names it in Chinese, never its internal key.
    page.click("#submit")
    page.wait_for_selector("#form-error")
    errors = page.inner_text("#form-error")
    assert "抽查事项“食品安全检查”" in errors and "matter_" not in errors
    _shots(page, "phone-5-missing-390")
    page.check(f"input[name=m{second}_codes][value='1']")
    page.check(f"input[name=m{second}_methods][value=document]")
    page.check(f"input[name=m{second}_measures][value=none]")
    page.click("#submit")
    page.wait_for_selector("text=检查结果已提交审核")
    assert page.inner_text("#record-status") == "待审核"

    page.goto(f"{base_url}/console/my-tasks")
    card = page.locator(f"article[data-uscc='{day['uscc']}']")
    assert card.locator(".task-status").inner_text() == "待审核"
    assert "查看检查结果" in card.inner_text()
    assert int(page.evaluate("document.querySelectorAll('.task-card').length")) == day["held"]
    _shots(page, "phone-6-submitted-390")
    assert opened == [] and page.console_errors == []


def test_the_same_pages_at_a_desk(page, base_url, day):
    page.set_viewport_size(DESKTOP)
    _login(page, base_url, "lf_zhangwei")
    page.wait_for_selector("#waiting")
    _shots(page, "phone-7-dashboard-1280")
    page.goto(f"{base_url}/console/my-tasks")
    page.wait_for_selector(".task-card")
    _fits(page)
    _shots(page, "phone-8-tasks-1280")
    page.click("#logout")
    _login(page, base_url, "lf_admin")
    page.wait_for_selector("#waiting")
    assert int(page.inner_text("#count-to-review .num")) >= 1
    _shots(page, "phone-9-admin-dashboard-1280")
    page.set_viewport_size(PHONE)
    page.reload()
    _fits(page)
    _shots(page, "phone-10-admin-dashboard-390")
    page.click("#count-to-review")
    page.wait_for_selector("#results")
    assert page.console_errors == []
