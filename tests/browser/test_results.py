"""Inspection results in a real browser: an inspector enters on a phone-sized page, the
administrator approves, the public finds the firm; free text full of script never runs.

Screenshots are kept under tests/browser/artifacts/ (git-ignored) for review.
"""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from shuangsuiji.db import Department, Matter, User
from shuangsuiji.services.plans import draws, plans
from shuangsuiji.services.results import results

from .. import draw_world
from .test_console import _login

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = {"width": 390, "height": 844}
XSS = '"><script>alert("xss")</script><img src=x onerror=alert(1)><svg onload=alert(2)>'


def _png() -> bytes:
    """A real 1×1 PNG (the upload is sniffed by content)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xb3\x26\x1e")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def drawn(live_app):
    """A drawn plan of 廊坊市场监管局 with two matters; lf_zhangwei is on the first drawn
    entity's team, lf_lina on the second's, whose registry name is a script payload."""
    with live_app.extensions["shuangsuiji.db"].transaction() as session:
        department = session.scalar(select(Department).where(Department.code == "LF-SAMR"))
        admin = session.scalar(select(User).where(User.username == "lf_admin"))
        registry = draw_world.populate(
            session, department, entities=24, inspectors=6, cert_prefix="88"
        )
        second = Matter(department_id=department.id, code="LF-M2", name="食品安全检查")
        session.add(second)
        session.flush()
        plan = plans.create(
            session,
            actor=admin,
            department_id=department.id,
            raw=draw_world.plan_values(
                code="LF-RESULTS",
                slots=["LF-SAMR", "LF-SAMR"],
                matter_ids=[registry["matter"].id, second.id],
            ),
        )
        commitment = plans.commit(session, actor=admin, plan_id=plan.id, today=draw_world.TODAY)
        draw = draws.execute(
            session, actor=admin, commitment_id=commitment.id, randomness=draw_world.DICE
        )
        first, other = draws.teams(session, draw, limit=2)
        users = {
            u.username: u
            for u in session.scalars(
                select(User).where(User.username.in_(("lf_zhangwei", "lf_lina")))
            )
        }
        first.members[0].inspector.user_id = users["lf_zhangwei"].id
        free = next(m for m in other.members if m.inspector.user_id is None)
        free.inspector.user_id = users["lf_lina"].id
        other.entity.name = "脚本测试企业" + XSS
        return {
            "draw_id": draw.id,
            "first": (first.entity.name, first.drawn.uscc),
            "other_uscc": other.drawn.uscc,
            "matters": [registry["matter"].id, second.id],
        }


def _today() -> str:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _logout(page):
    page.click("#logout")
    page.wait_for_selector("text=已退出登录")


def test_entry_review_publication_and_public_lookup(page, base_url, drawn, tmp_path):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    name, uscc = drawn["first"]
    photo = tmp_path / "现场照片.png"
    photo.write_bytes(_png())

    page.set_viewport_size(PHONE)
    _login(page, base_url, "lf_zhangwei")
    page.wait_for_selector("text=工作台")
    page.goto(f"{base_url}/console/my-tasks")
    page.click(f"tr:has-text('{uscc}') >> text=录入检查结果")
    page.wait_for_selector("#result-form")
    assert page.inner_text("#entity-name") == name

    page.set_input_files("#upload-form input[name=file]", str(photo))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("text=附件已上传")
    assert "现场照片.png" in page.inner_text("#attachments")

    page.fill("input[name=checked_on]", _today())
    first, second = drawn["matters"]
    page.check(f"input[name=m{first}_codes][value='6']")
    page.check(f"input[name=m{first}_methods][value=field]")
    page.check(f"input[name=m{first}_measures][value=feedback]")
    page.check(f"input[name=m{second}_codes][value='1']")
    page.check(f"input[name=m{second}_methods][value=document]")
    page.check(f"input[name=m{second}_measures][value=none]")
    page.fill("textarea[name=notes]", "经营场所已搬离，现场无人")
    _shot(page, "results-1-entry-phone")
    page.click("#submit")
    page.wait_for_selector("text=检查结果已提交审核")
    assert page.inner_text("#record-status") == "待审核"
    _shot(page, "results-2-submitted-phone")
    _logout(page)

    page.set_viewport_size({"width": 1280, "height": 900})
    _login(page, base_url, "lf_admin")
    page.wait_for_selector("text=工作台")
    page.click("nav >> text=检查结果审核")
    page.click(f"#results tr:has-text('{uscc}') a")
    page.wait_for_selector("#review")
    assert "通过登记的住所（经营场所）无法联系" in page.inner_text("#result-summary")
    with page.expect_download() as download:
        page.click("#attachments >> text=现场照片.png")
    assert Path(download.value.path()).read_bytes() == photo.read_bytes()
    page.click("#decision-approve")
    page.wait_for_selector("text=已审核通过并公示")
    assert page.inner_text("#record-status") == "已公示"
    _shot(page, "results-3-approved")
    _logout(page)

    page.set_viewport_size(PHONE)
    page.goto(f"{base_url}/public/results")
    page.fill("#q", name[:6])
    page.click(".search-form button[type=submit]")
    page.wait_for_selector("#hits")
    _shot(page, "results-4-public-search-phone")
    page.click(f"#hits >> text={name}")
    page.wait_for_selector("#firm-name")
    text = page.inner_text("main")
    assert uscc in text and "通过登记的住所（经营场所）无法联系" in text
    assert "食品安全检查" in text and "未发现问题" in text
    assert "经营场所已搬离" not in text  # notes are internal
    _shot(page, "results-5-public-firm-phone")

    # The credit record: the unreachable firm is a 经营异常名录 candidate with its deadline.
    page.set_viewport_size({"width": 1280, "height": 900})
    _login(page, base_url, "lf_admin")
    page.wait_for_selector("text=工作台")
    page.click("nav >> text=经营异常名录")
    row = page.locator(f"#listings tr:has-text('{uscc}')")
    assert "列入候选" in row.inner_text() and "通过登记的住所" in row.inner_text()
    _shot(page, "results-6-listing-candidate")
    row.locator("a").click()
    page.wait_for_selector("text=列入候选")
    page.goto(f"{base_url}/console/entities?uscc={uscc}")
    page.click(f"tr:has-text('{uscc}') >> text=查看")
    events = page.inner_text("#credit-events")
    assert "6" in events and "inspection:" in events
    _shot(page, "results-7-credit-events")
    assert dialogs == [] and page.console_errors == []


def test_script_in_every_free_text_field_never_runs(page, base_url, live_app, drawn):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    uscc = drawn["other_uscc"]
    _login(page, base_url, "lf_lina")
    page.wait_for_selector("text=工作台")
    page.goto(f"{base_url}/console/draws/{drawn['draw_id']}/results/1")
    page.wait_for_selector("#result-form")
    page.fill("input[name=checked_on]", _today())
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
    _shot(page, "results-6-xss-console")
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
    _shot(page, "results-7-xss-public")
    page.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert dialogs == []
