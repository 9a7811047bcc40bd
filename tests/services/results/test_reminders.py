"""Assignment notices and deadline reminders go to the outbox once each."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from shuangsuiji.db import DrawAssignment, OutboxMessage
from shuangsuiji.db.states import Role
from shuangsuiji.scheduler import Scheduler
from shuangsuiji.services.plans import draws, notices
from shuangsuiji.services.results import reminders
from shuangsuiji.services.results.deadlines import Rules

from ... import factories
from ...draw_world import populate

RULES = Rules(results_entry_workdays=5, publication_workdays=20, warn_workdays=3)


def _messages(session, prefix):
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.dedup_key.like(f"{prefix}%"))
        .order_by(OutboxMessage.id)
    ).all()


def _drawn(session, world, **values):
    registry = populate(session, world["a"], entities=30)
    for i, inspector in enumerate(registry["inspectors"]):
        inspector.mobile = f"1390000{i:04d}" if i % 2 == 0 else None
        inspector.email = f"insp{i}@example.cn" if i < 2 else None
    plan = factories.PlanFactory(
        actor=world["admin_a"], code="PLAN-001", matters=[registry["matter"]], **values
    )
    draw = factories.DrawFactory(actor=world["admin_a"], commitment__plan=plan)
    return registry, plan, draw


def test_a_draw_notifies_each_inspector_once_per_channel(session, world):
    registry, plan, draw = _drawn(session, world)
    assigned = set(
        session.scalars(
            select(DrawAssignment.inspector_id).where(DrawAssignment.draw_id == draw.id)
        )
    )
    sent = _messages(session, f"assign:{draw.id}:")
    expected = {
        (channel, contact)
        for i in registry["inspectors"]
        if i.id in assigned
        for channel, contact in (("sms", i.mobile), ("email", i.email))
        if contact
    }
    assert {(m.channel, m.recipient) for m in sent} == expected and expected
    first = sent[0]
    assert plan.code in first.body and "户" in first.body and first.status == "queued"
    assert notices.notify_assignments(session, draw) == len(sent)  # the same messages back
    assert len(_messages(session, f"assign:{draw.id}:")) == len(sent)


def test_a_replacement_notifies_the_new_inspector(session, world):
    registry, plan, draw = _drawn(session, world)
    for inspector in registry["inspectors"]:
        inspector.mobile, inspector.email = "13900001111", None
    row = draws.replace(
        session,
        actor=world["admin_a"],
        draw_id=draw.id,
        position=0,
        slot=0,
        reason="ILLNESS",
        note="住院",
    )
    sent = _messages(session, f"replace:{draw.id}:{row.n}:")
    assert [m.channel for m in sent] == ["sms"] and "替换" in sent[0].body


def test_the_sweep_reminds_administrators_once_per_deadline_and_state(session, world):
    world["admin_a"].email = "admin_a@example.cn"
    world["admin_b"].email = "admin_b@example.cn"
    _, plan, draw = _drawn(session, world, fieldwork_start="2026-10-12", fieldwork_end="2026-10-30")
    # On 2026-11-24 results entry (due 11-06) is overdue and publication (due 11-27) is soon.
    day = dt.date(2026, 11, 24)
    assert reminders.sweep(session, today=day, rules=RULES) == 2
    sent = _messages(session, f"deadline:{draw.id}:")
    assert {m.recipient for m in sent} == {"admin_a@example.cn"}
    subjects = sorted(m.subject for m in sent)
    assert subjects == [
        f"期限提醒：{plan.code} 检查结果公示（20个工作日内）即将到期",
        f"期限提醒：{plan.code} 检查结果录入已逾期",
    ]
    assert reminders.sweep(session, today=day, rules=RULES) == 0
    # Once publication is overdue too, that is one more reminder.
    assert reminders.sweep(session, today=dt.date(2026, 11, 30), rules=RULES) == 1


def test_the_scheduler_queues_the_reminders_on_its_runs(session, db, world, app):
    world["admin_a"].email = "admin_a@example.cn"
    _drawn(session, world, fieldwork_start="2026-10-12", fieldwork_end="2026-10-30")
    session.commit()
    scheduler = Scheduler(db, app.config, clock=lambda: dt.datetime(2026, 11, 24, 1, tzinfo=dt.UTC))
    scheduler._run()
    assert len(_messages(session, "deadline:")) == 2
    assert scheduler.remind() == 0


def test_an_address_the_outbox_refuses_does_not_stop_the_others(session, world):
    world["admin_a"].email = "admin_a@example.cn"
    odd = factories.UserFactory(username="admin_a2", role=Role.DEPT_ADMIN, department=world["a"])
    odd.email = "admin@localhost"  # the user form takes it; the outbox wants a dotted domain
    _drawn(session, world, fieldwork_start="2026-10-12", fieldwork_end="2026-10-30")
    assert reminders.sweep(session, today=dt.date(2026, 11, 24), rules=RULES) == 2
    assert {m.recipient for m in _messages(session, "deadline:")} == {"admin_a@example.cn"}
