"""A monthly plan set up in the console draws by itself once its first period is due: the
scheduler's ensure-due runs with a frozen clock and the draw appears on the plan page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import select

from shuangsuiji.db import Department
from shuangsuiji.scheduler import Scheduler
from shuangsuiji.services.plans import batches
from shuangsuiji.services.platform.workdays import Calendar

from .. import draw_world
from ..recur_world import TIMING
from .test_console import _login


@pytest.fixture(scope="module")
def registry(live_app):
    with live_app.extensions["shuangsuiji.db"].transaction() as session:
        department = session.scalar(select(Department).where(Department.code == "LF-SAMR"))
        draw_world.populate(session, department, entities=60, inspectors=6)


def test_a_monthly_plan_draws_itself_when_its_period_is_due(page, base_url, live_app, registry):
    page.on("dialog", lambda dialog: dialog.accept())
    _login(page, base_url, "lf_admin")
    page.wait_for_selector("text=工作台")
    year = dt.date.today().year + 1

    page.goto(f"{base_url}/console/plans")
    page.click("#plan-new")
    page.fill("input[name=code]", f"LF-{year}-M")
    page.fill("input[name=title]", f"{year} 年度企业公示信息抽查计划")
    page.select_option("select[name=matter_ids]", index=0)
    page.select_option("select[name=recurrence]", "monthly")
    page.fill("input[name=plan_year]", str(year))
    page.select_option("select[name=preset]", "yancheng")
    page.click("#apply-preset")
    page.wait_for_load_state()
    assert page.input_value("input[name=plan_year]") == str(year)
    page.click("#plan-save")
    page.wait_for_selector("#plan-activate")
    assert "每月一批" in page.inner_text("#plan-recurrence")
    assert "⌈" in page.inner_text("#split-rule")
    assert len(page.query_selector_all("#batches tbody tr")) == 12

    page.click("#plan-activate")
    page.wait_for_selector("#chain-tip")
    assert page.inner_text("#plan-status").startswith("已启用")
    assert re.fullmatch(r"[0-9a-f]{64}", page.inner_text("#chain-tip"))
    first = f"#batch-{year}-01"
    assert "待到期" in page.inner_text(first)

    # The scheduler's job, with the clock frozen an hour after January's batch fell due.
    due = batches.due_at(batches.periods("monthly", year)[0], Calendar(), TIMING)
    scheduler = Scheduler(live_app.extensions["shuangsuiji.db"], live_app.config)
    with time_machine.travel(due - dt.timedelta(minutes=1), tick=False):
        assert scheduler.ensure_due() == []
    with time_machine.travel(due + dt.timedelta(hours=1), tick=False):
        [outcome] = scheduler.ensure_due()
    assert outcome.result == "drawn", outcome.error

    page.reload()
    assert "已抽取" in page.inner_text(first)
    assert "待到期" in page.inner_text(f"#batch-{year}-02")
    page.click(f"{first} a")
    page.wait_for_selector("#seed")
    assert re.fullmatch(r"[0-9a-f]{64}", page.inner_text("#seed"))
    assert page.console_errors == []
