"""Deadline reminders (提醒): what goes to the outbox for administrators.

A deadline entering its warning window (即将到期) and a deadline passed (已逾期) are each
reminded once, to the department's administrators who have an e-mail address. Messages are
queued with a dedup key, so running the sweep again (every tick, after a restart) queues
nothing twice. The outbox dispatcher or an external gateway sends them. Inspectors' assignment
notices are in `plans.notices`.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db import OutboxMessage, Plan, Role, User
from ...db.states import DeadlineState
from ...errors import Invalid
from ..plans.notices import SIGNATURE
from ..platform import outbox
from . import deadlines

log = logging.getLogger(__name__)


def _admins(session: Session, department_ids: set[int]) -> dict[int, list[User]]:
    rows = session.scalars(
        select(User).where(
            User.department_id.in_(department_ids),
            User.role == Role.DEPT_ADMIN,
            User.active.is_(True),
            User.email.is_not(None),
        )
    )
    found: dict[int, list[User]] = {}
    for user in rows:
        found.setdefault(user.department_id, []).append(user)
    return found


def sweep(session: Session, *, today: dt.date, rules: deadlines.Rules) -> int:
    """Queue the reminders due today for every department; returns the messages queued now.

    A deadline is reminded when it is soon (once) and when it is overdue (once); the dedup key
    names the task, the deadline, its due date and the state, so a changed date reminds again.
    """
    tasks = [t for t in deadlines.progress(session, today=today, rules=rules) if t.draw is not None]
    admins = _admins(session, {t.plan.department_id for t in tasks})
    wanted: dict[str, tuple[User, Plan, deadlines.Deadline, deadlines.Counts]] = {}
    for task in tasks:
        for d in task.deadlines:
            if d.state in (DeadlineState.SOON, DeadlineState.OVERDUE):
                for user in admins.get(task.plan.department_id, []):
                    key = (
                        f"deadline:{task.draw.id}:{d.kind}:{d.due.isoformat()}:{d.state}:{user.id}"
                    )
                    wanted[key] = (user, task.plan, d, task.counts)
    sent = set(
        session.scalars(select(OutboxMessage.dedup_key).where(OutboxMessage.dedup_key.in_(wanted)))
    )
    queued = 0
    for key, (user, plan, d, counts) in wanted.items():
        if key in sent:
            continue
        when = (
            f"已逾期 {-d.workdays_left} 个工作日"
            if d.state == DeadlineState.OVERDUE
            else f"还剩 {d.workdays_left} 个工作日"
        )
        try:
            outbox.enqueue(
                session,
                channel="email",
                recipient=user.email,
                subject=f"期限提醒：{plan.code} {d.label}{deadlines.STATES[d.state]}",
                body=(
                    f"{SIGNATURE}抽查任务“{plan.title}”（{plan.code}）的“{d.label}”期限为 "
                    f"{d.due.isoformat()}，{when}。当前进度：抽中 {counts.drawn} 户，"
                    f"已录入 {counts.entered} 户，已公示 {counts.published} 户。"
                ),
                dedup_key=key,
                department_id=plan.department_id,
            )
        except Invalid:  # an address the outbox refuses must not stop everyone's reminders
            log.warning("reminder %s not queued: the outbox refuses %r", key, user.email)
            continue
        queued += 1
    return queued
