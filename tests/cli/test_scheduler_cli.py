"""`shuangsuiji scheduler run --once --now …` and `scheduler status` in this process."""

from __future__ import annotations

import datetime as dt

from shuangsuiji.cli import main
from shuangsuiji.services.plans import batches
from shuangsuiji.services.platform.workdays import Calendar

from ..recur_world import TIMING, active_plan


def _run(app, *args):
    return app.test_cli_runner().invoke(main, list(args))


def test_run_once_draws_what_is_due_then_nothing(app, session, world, registry):
    plan = active_plan(session, world["admin_a"], world["a"], registry["matter"])
    session.commit()
    early = _run(app, "scheduler", "run", "--once", "--now", "2027-01-04T08:00+08:00")
    assert early.exit_code == 0 and early.output == ""
    done = _run(app, "scheduler", "run", "--once", "--now", "2027-01-04T10:00+08:00")
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"{plan.id}\t2027-01\tdrawn\tdraw=")
    again = _run(app, "scheduler", "run", "--once", "--now", "2027-01-04T11:00+08:00")
    assert again.output == ""


def test_now_needs_its_offset(app):
    result = _run(app, "scheduler", "run", "--once", "--now", "2027-01-04T10:00")
    assert result.exit_code == 2 and "offset" in result.output


def test_status_names_each_active_plans_next_batch(app, session, world, registry):
    year = dt.date.today().year + 1
    plan = active_plan(session, world["admin_a"], world["a"], registry["matter"], year=year)
    session.commit()
    result = _run(app, "scheduler", "status")
    assert result.exit_code == 0
    due = batches.due_at(batches.periods("monthly", year)[0], Calendar(), TIMING)
    assert f"{plan.id}\t下一批 {due.astimezone(TIMING.tz):%Y-%m-%d} 09:00" in result.output


def test_housekeep_expires_and_prunes_now_and_prints_the_counts(app, session):
    from shuangsuiji.db import OutboxMessage
    from shuangsuiji.db.states import OutboxStatus
    from shuangsuiji.services.platform import outbox

    now = dt.datetime.now(dt.UTC)
    waiting = outbox.enqueue(session, channel="sms", recipient="13800000000", body="通知")
    waiting.created_at = now - dt.timedelta(days=4)
    sent = outbox.enqueue(session, channel="email", recipient="li@example.cn", body="通知")
    sent.status, sent.updated_at = OutboxStatus.SENT, now - dt.timedelta(days=91)
    session.commit()
    result = _run(app, "scheduler", "housekeep")
    assert result.exit_code == 0, result.output
    assert "过期未发送\tsms\t1" in result.output and "删除消息\t1" in result.output
    session.refresh(waiting)
    assert waiting.status == OutboxStatus.FAILED and "72 小时" in waiting.last_error
    assert session.get(OutboxMessage, sent.id, populate_existing=True) is None
