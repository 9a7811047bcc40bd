"""The paperwork downloads in a real browser: a draw's list, every notice on one print page,
the review list, the 经营异常名录 and its decision, an import template, and a rejected-rows
file fixed and imported again. Screenshots under tests/browser/artifacts/paperwork-*.png."""

from __future__ import annotations

import datetime as dt
import re

from python_calamine import CalamineWorkbook
from sqlalchemy import select

from shuangsuiji import tabular
from shuangsuiji.db import User
from shuangsuiji.domain import uscc
from shuangsuiji.services.results import credit

from .. import factories
from . import result_world
from .result_world import shot
from .test_console import _login


def _download(page, selector: str, tmp_path):
    with page.expect_download() as info:
        page.click(selector)
    download = info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    return download.suggested_filename, saved


def _rows(path) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def _listed(live_app) -> tuple[int, str]:
    """A 经营异常名录 record of 廊坊市场监管局, listed."""
    database = live_app.extensions["shuangsuiji.db"]
    with database.transaction() as session, factories.bound(session):
        admin = session.scalar(select(User).where(User.username == "lf_admin"))
        entity = factories.EntityFactory(
            department=admin.department,
            uscc=uscc.make("91131024000888001"),
            name="香河县文书测试商贸有限公司",
        )
        credit.on_result_published(
            session,
            actor=admin,
            entity_id=entity.id,
            department_id=admin.department_id,
            inspection_ref="inspection:paperwork",
            codes=["A", "2", "6"],
            checked_on=dt.date(2026, 3, 4),
            published_at=dt.datetime(2026, 3, 20, tzinfo=dt.UTC),
        )
        [view] = [
            v
            for v in credit.listings(session, admin, today=dt.date(2026, 4, 1))
            if v.listing.entity_id == entity.id
        ]
        credit.decide(
            session, actor=admin, listing_id=view.listing.id, action="list", today=view.due
        )
        return view.listing.id, entity.name


def test_a_clerk_downloads_and_prints_the_paperwork(page, base_url, live_app, tmp_path):
    drawn = result_world.drawn(live_app)
    name, code = result_world.entered(live_app, drawn, 0)
    listing_id, listed_name = _listed(live_app)
    _login(page, base_url, "lf_admin")
    page.wait_for_selector("text=工作台")

    # The draw's list, with teams and contacts.
    page.goto(f"{base_url}/console/draws/{drawn['draw_id']}")
    total = int(page.inner_text("#drawn-total"))
    filename, saved = _download(page, "#draw-export-xlsx", tmp_path)
    assert re.fullmatch(r"抽取名单-LF-RESULTS-\d{8}-\d{4}\.xlsx", filename), filename
    rows = _rows(saved)
    assert len(rows) == total + 1 and "检查人员1手机号码" in rows[0]
    shot(page, "paperwork-draw")

    # Every notice on one print page, a page each.
    with page.context.expect_page() as opened:
        page.click("#print-all-notices")
    notices = opened.value
    notices.wait_for_load_state()
    assert notices.locator("article.notice").count() == total
    assert "每份单独成页" in notices.inner_text("#notices-tools")
    shot(notices, "paperwork-notices")
    notices.screenshot(path=str(result_world.ARTIFACTS / "paperwork-notices-top.png"))
    notices.emulate_media(media="print")
    assert not notices.locator("#notices-tools").is_visible()  # the tools are not printed
    shot(notices, "paperwork-notices-print")
    notices.locator("#notice-1").screenshot(
        path=str(result_world.ARTIFACTS / "paperwork-notice-1-print.png")
    )
    pdf = notices.pdf(format="A4", prefer_css_page_size=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == total  # a sheet per notice: each starts a new one and fits on it
    (result_world.ARTIFACTS / "paperwork-notices.pdf").write_bytes(pdf)
    notices.close()

    # The review list, with the page's filter.
    page.goto(f"{base_url}/console/results?status=submitted")
    filename, saved = _download(page, "#results-export-xlsx", tmp_path)
    assert filename.startswith("检查结果-待审核-")
    assert any(code in map(str, row) for row in _rows(saved))
    shot(page, "paperwork-results")

    # The 经营异常名录 and a listing decision.
    page.goto(f"{base_url}/console/abnormal-listings")
    filename, saved = _download(page, "#listings-export-xlsx", tmp_path)
    assert filename.startswith("经营异常名录-")
    assert any(listed_name in map(str, row) for row in _rows(saved))
    page.goto(f"{base_url}/console/abnormal-listings/{listing_id}")
    with page.context.expect_page() as opened:
        page.click("#decision-listing")
    decision = opened.value
    decision.wait_for_load_state()
    text = decision.inner_text("#decision")
    assert "列入经营异常名录决定书" in text and listed_name in text
    assert "依据《企业信息公示暂行条例》的规定" in text
    shot(decision, "paperwork-decision")
    decision.close()

    assert page.console_errors == []


def test_a_clerk_fixes_the_rejected_rows_and_imports_them_again(page, base_url, tmp_path):
    good = [uscc.make(f"91131024{n:09d}") for n in (501, 502)]
    content = "*统一社会信用代码,*企业名称,行政区划代码\n" + "".join(
        [
            f"{good[0]},香河县文书导入甲有限公司,131024\n",
            "91131024MA0XXXXX00,香河县文书导入乙有限公司,131024\n",
            f"{good[1]},香河县文书导入丙有限公司,999999\n",
        ]
    )
    upload = tmp_path / "文书导入.csv"
    upload.write_bytes(content.encode("utf-8"))
    _login(page, base_url, "xh_admin")
    page.wait_for_selector("text=工作台")
    page.click("nav >> text=导入")
    assert page.locator("#help-entities[open]").count() == 1
    filename, saved = _download(page, "#template-entities-xlsx", tmp_path)
    assert filename == "检查对象名录-导入模板.xlsx"
    assert _rows(saved)[0][:2] == ["*统一社会信用代码", "*企业名称"]
    page.click("#help-inspectors summary")
    assert "执法证号 *" in page.inner_text("#help-inspectors")
    shot(page, "paperwork-import-help")

    page.select_option("select[name=kind]", "entities")
    page.set_input_files("input[name=file]", str(upload))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#confirm-import", timeout=20000)
    assert page.inner_text("#count-rejected") == "2"
    _, saved = _download(page, "#rejects-xlsx", tmp_path)
    rows = _rows(saved)
    assert rows[0][:3] == ["原行号", "有误的列", "拒绝原因"]
    fixed = []
    for row in rows[1:]:
        row = [str(c) for c in row]
        if row[3].startswith("91131024MA0"):
            row[3] = uscc.make("91131024000000503")
        row[5] = "131024"
        fixed.append(row)
    again = tmp_path / "文书导入-改正.xlsx"
    with again.open("wb") as out:
        tabular.write_xlsx(out, rows[0], fixed)
    page.click("nav >> text=导入")
    page.set_input_files("input[name=file]", str(again))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#confirm-import", timeout=20000)
    assert page.inner_text("#count-read") == "2"
    assert page.inner_text("#count-inserted") == "2"
    assert page.inner_text("#count-rejected") == "0"
    shot(page, "paperwork-reimport")
    assert page.console_errors == []
