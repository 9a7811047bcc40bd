"""The 检查表 in a real browser: the department administrator publishes a version through the
console form (desktop), and a citizen reads it under the public matter list on a 390 px phone.
No WCAG A/AA violation on either page; screenshots go to tests/browser/artifacts/."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shuangsuiji.cli.demo_data import DEMO_STAFF_PASSWORD
from shuangsuiji.db import Department, Matter

from . import axe
from .result_world import PHONE, shot

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def matter_id(live_app):
    with live_app.extensions["shuangsuiji.db"].transaction() as session:
        department = session.scalar(select(Department).where(Department.code == "LF-SAMR"))
        matter = Matter(department_id=department.id, code="CK-001", name="企业公示信息抽查")
        session.add(matter)
        session.flush()
        return matter.id


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    axe.install(context)
    page = context.new_page()
    yield page
    context.close()


def test_publish_and_read_a_checklist(page, base_url, matter_id):
    page.goto(f"{base_url}/console/login")
    page.fill("input[name=username]", "lf_admin")
    page.fill("input[name=password]", DEMO_STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/**")
    page.goto(f"{base_url}/console/matters/{matter_id}")
    page.click("#matter-checklist")
    page.wait_for_selector("#no-checklist")
    page.fill("textarea[name='entries.1.content']", "年度报告按时报送")
    page.select_option("select[name='entries.1.method']", "online")
    page.fill("textarea[name='entries.1.basis']", "《企业信息公示暂行条例》第八条")
    page.fill("input[name='entries.1.codes']", "1")  # 未发现问题: refused
    page.click("#checklist-form button[type=submit]")
    page.wait_for_selector("#form-error")
    assert "不符合不能对应以下检查结果" in page.inner_text("#form-error")
    page.fill("input[name='entries.1.codes']", "B")
    page.fill("textarea[name='entries.2.content']", "登记住所可联系")
    page.select_option("select[name='entries.2.method']", "on_site")
    page.fill("textarea[name='entries.2.basis']", "《企业经营异常名录管理暂行办法》第四条")
    page.fill("input[name='entries.2.codes']", "6")
    page.click("#checklist-form button[type=submit]")
    page.wait_for_selector("#shown-version:has-text('第 1 版（现行）')")
    assert "登记住所可联系" in page.inner_text("#checklist-items")
    found = axe.violations(page)
    assert found == [], axe.report("检查表", found)
    shot(page, "checklist-console")

    page.set_viewport_size(PHONE)
    page.goto(f"{base_url}/matters?q=企业公示信息抽查")
    page.click(f"#checklist-{matter_id} summary")
    assert "登记住所可联系" in page.inner_text(f"#checklist-{matter_id}")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"/matters is {width}px wide"
    found = axe.violations(page)
    assert found == [], axe.report("/matters", found)
    shot(page, "checklist-public-phone")
