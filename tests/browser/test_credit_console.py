"""The 经营异常名录 workflow in a real browser."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from shuangsuiji.db import User
from shuangsuiji.domain import uscc
from shuangsuiji.services.results import credit

from .. import factories
from .test_console import _login


def test_a_department_admin_dismisses_a_candidate_with_a_reason(page, base_url, live_app):
    database = live_app.extensions["shuangsuiji.db"]
    with database.transaction() as session, factories.bound(session):
        admin = session.scalar(select(User).where(User.username == "lf_admin"))
        entity = factories.EntityFactory(
            department=admin.department,
            uscc=uscc.make("91131024000777001"),
            name="香河县浏览器测试商贸有限公司",
        )
        credit.on_result_published(
            session,
            actor=admin,
            entity_id=entity.id,
            department_id=admin.department_id,
            inspection_ref="inspection:browser",
            codes=["A", "2", "6"],
            checked_on=dt.date(2030, 3, 4),
            published_at=dt.datetime(2030, 3, 20, tzinfo=dt.UTC),
        )
        name = entity.name
    _login(page, base_url, "lf_admin")
    page.wait_for_selector("text=工作台")
    page.click("nav >> text=经营异常名录")
    row = page.locator("#listings tr", has_text=name)
    assert "列入候选" in row.inner_text()
    row.locator("a").click()
    page.wait_for_selector("#listing-facts")
    page.fill("#action-dismiss input[name=reason]", "复核确认住所可以联系")
    page.click("#action-dismiss button[type=submit]")
    page.wait_for_selector("text=已不予列入")
    assert "不予列入" in page.inner_text("#listing-facts")
    assert "不予列入经营异常名录" in page.inner_text("#listing-events")
    assert page.locator("#action-list").count() == 0
    page.click("text=检查对象详情")
    assert "住所无法联系" in page.inner_text("#credit-events")
    assert page.console_errors == []
