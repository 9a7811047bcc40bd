"""Inspection results in a real browser: an inspector enters on a phone-sized page, the
administrator approves, the public finds the firm; free text full of script never runs.

Screenshots are kept under tests/browser/artifacts/ (git-ignored) for review.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from shuangsuiji.db import User
from shuangsuiji.services.results import results

from . import result_world
from .result_world import PHONE, XSS, shot, today
from .test_console import _login


@pytest.fixture(scope="module")
def drawn(live_app):
    return result_world.drawn(live_app)


def _logout(page):
    page.click("#logout")
    page.wait_for_selector("text=已退出登录")


DESKTOP = {"width": 1280, "height": 900}
UNREACHABLE = "通过登记的住所（经营场所）无法联系"  # result code 6


@pytest.fixture
def dialogs(page):
    """Every dialog the page opens (a script that runs would open one); accepted."""
    opened = []
    page.on("dialog", lambda d: (opened.append(d.message), d.accept()))
    return opened


def test_an_inspector_enters_and_submits_with_a_photo_on_a_phone(
    page, base_url, drawn, dialogs, tmp_path
):
    name, uscc = drawn["first"]
    photo = tmp_path / "现场照片.png"
    photo.write_bytes(result_world.png())
    page.set_viewport_size(PHONE)
    _login(page, base_url, "lf_zhangwei")
    page.wait_for_selector("text=工作台")
    page.goto(f"{base_url}/console/my-tasks")
    page.click(f"article[data-uscc='{uscc}'] >> text=录入检查结果")
    page.wait_for_selector("#result-form")
    assert page.inner_text("#entity-name") == name

    page.fill("input[name=checked_on]", today())
    first, second = drawn["matters"]
    page.check(f"input[name=m{first}_codes][value='6']")
    page.check(f"input[name=m{first}_methods][value=field]")
    page.check(f"input[name=m{first}_measures][value=feedback]")
    page.check(f"input[name=m{second}_codes][value='1']")
    page.check(f"input[name=m{second}_methods][value=document]")
    page.check(f"input[name=m{second}_measures][value=none]")
    page.fill("textarea[name=notes]", "经营场所已搬离，现场无人")
    page.set_input_files("#result-form input[name=file]", str(photo))
    shot(page, "results-1-entry-phone")
    page.click("#submit")
    page.wait_for_selector("text=检查结果已提交审核")
    assert "附件已上传（1 个）" in page.inner_text("main")
    assert "现场照片.png" in page.inner_text("#attachments")
    assert page.inner_text("#record-status") == "待审核"
    assert UNREACHABLE in page.inner_text("#result-summary")
    shot(page, "results-2-submitted-phone")
    assert dialogs == [] and page.console_errors == []


def test_the_administrator_reviews_from_the_queue_and_approves(
    page, base_url, live_app, drawn, dialogs
):
    photo = result_world.png()
    _, uscc = result_world.entered(live_app, drawn, 2, photo=photo)
    page.set_viewport_size(DESKTOP)
    _login(page, base_url, "lf_admin")
    page.wait_for_selector("text=工作台")
    page.click("nav >> text=检查结果审核")
    page.click(f"#results tr:has-text('{uscc}') a")
    page.wait_for_selector("#review")
    assert UNREACHABLE in page.inner_text("#result-summary")
    with page.expect_download() as download:
        page.click("#attachments >> text=现场照片.png")
    assert Path(download.value.path()).read_bytes() == photo
    page.click("#decision-approve")
    page.wait_for_selector("text=已审核通过并公示")
    assert page.inner_text("#record-status") == "已公示"
    shot(page, "results-3-approved")
    assert len(dialogs) == 1 and dialogs[0].startswith("确定通过并公示？")  # asked first
    assert page.console_errors == []


def test_the_public_finds_a_published_result_on_a_phone(page, base_url, live_app, drawn):
    name, uscc = result_world.entered(live_app, drawn, 3, approve=True)
    page.set_viewport_size(PHONE)
    page.goto(f"{base_url}/public/results")
    page.fill("#q", name[:6])
    page.click(".search-form button[type=submit]")
    page.wait_for_selector("#hits")
    shot(page, "results-4-public-search-phone")
    page.click(f"#hits >> text={name}")
    page.wait_for_selector("#firm-name")
    text = page.inner_text("main")
    assert uscc in text and UNREACHABLE in text
    assert "食品安全检查" in text and "未发现问题" in text
    assert "经营场所已搬离" not in text  # notes are internal
    shot(page, "results-5-public-firm-phone")
    assert page.console_errors == []


def test_an_unreachable_firm_becomes_a_listing_candidate(page, base_url, live_app, drawn):
    _, uscc = result_world.entered(live_app, drawn, 4, approve=True)
    page.set_viewport_size(DESKTOP)
    _login(page, base_url, "lf_admin")
    page.wait_for_selector("text=工作台")
    page.click("nav >> text=经营异常名录")
    row = page.locator(f"#listings tr:has-text('{uscc}')")
    assert "列入候选" in row.inner_text() and "通过登记的住所" in row.inner_text()
    shot(page, "results-6-listing-candidate")
    row.locator("a").click()
    page.wait_for_selector("text=列入候选")
    page.goto(f"{base_url}/console/entities?uscc={uscc}")
    page.click(f"tr:has-text('{uscc}') >> text=查看")
    events = page.inner_text("#credit-events")
    assert "6" in events and "检查结果记录 #" in events and "inspection:" not in events
    shot(page, "results-7-credit-events")
    assert page.console_errors == []


def test_script_in_every_free_text_field_never_runs(page, base_url, live_app, drawn):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    uscc = drawn["other_uscc"]
    _login(page, base_url, "lf_lina")
    page.wait_for_selector("text=工作台")
    page.goto(f"{base_url}/console/draws/{drawn['draw_id']}/results/1")
    page.wait_for_selector("#result-form")
    page.fill("input[name=checked_on]", today())
    for matter_id in drawn["matters"]:
        page.check(f"input[name=m{matter_id}_codes][value=B]")
        page.check(f"input[name=m{matter_id}_methods][value=online]")
        page.check(f"input[name=m{matter_id}_measures][value=other]")
        page.fill(f"input[name=m{matter_id}_measure_other]", XSS)
        page.fill(f"textarea[name=m{matter_id}_notes]", XSS)
    page.fill("textarea[name=notes]", XSS)
    page.click("#submit")
    page.wait_for_selector("text=检查结果已提交审核")
    assert "<script>" in page.inner_text("#result-summary")  # shown as text
    shot(page, "results-6-xss-console")
    _logout(page)

    _login(page, base_url, "lf_admin")
    page.wait_for_selector("text=工作台")
    page.goto(f"{base_url}/console/draws/{drawn['draw_id']}/results/1")
    page.fill("#review textarea[name=comment]", XSS)
    page.click("#decision-return")
    page.wait_for_selector("#review-comment")
    assert XSS in page.inner_text("#review-comment")
    page.goto(f"{base_url}/console/results?status=returned")

    with live_app.extensions["shuangsuiji.db"].transaction() as session:
        lina = session.scalar(select(User).where(User.username == "lf_lina"))
        admin = session.scalar(select(User).where(User.username == "lf_admin"))
        results.submit(session, actor=lina, draw_id=drawn["draw_id"], position=1)
        results.review(
            session,
            actor=admin,
            draw_id=drawn["draw_id"],
            position=1,
            decision="approve",
            comment=XSS,
        )
    page.goto(f"{base_url}/public/results?q=脚本测试")
    page.click("#hits a")
    page.wait_for_selector("#firm-name")
    assert XSS in page.inner_text("#firm-name")
    page.goto(f"{base_url}/public/firms/{uscc}")
    shot(page, "results-7-xss-public")
    page.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert dialogs == []
