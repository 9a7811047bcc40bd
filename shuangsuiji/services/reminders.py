"""Notices and reminders (提醒): what goes to the outbox for inspectors and administrators.

- An assignment notice to every inspector a draw or a replacement puts on a team, by SMS to
  their mobile and by e-mail, when the registry has them (one message per inspector, draw and
  channel, listing how many entities they go to).
- Deadline reminders from the daily sweep: a deadline entering its warning window (即将到期)
  and a deadline passed (已逾期) are each reminded once, to the department's administrators
  who have an e-mail address.

Messages are queued with a dedup key, so running the sweep again (every tick, after a restart)
queues nothing twice. The outbox dispatcher or an external gateway sends them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import Draw, DrawAssignment, DrawReplacement, Inspector, OutboxMessage, Plan, Role, User
from ..errors import Invalid
from . import deadlines, outbox

SIGNATURE = "【双随机监管】"
log = logging.getLogger(__name__)


def _window(plan: Plan) -> str:
    if plan.fieldwork_start and plan.fieldwork_end:
        return f"，检查时间 {plan.fieldwork_start.isoformat()} 至 {plan.fieldwork_end.isoformat()}"
    return ""


def _contacts(inspector: Inspector) -> list[tuple[str, str]]:
    found = []
    if inspector.mobile:
        found.append(("sms", inspector.mobile))
    if inspector.email:
        found.append(("email", inspector.email))
    return found


def _notify(session: Session, inspector: Inspector, plan: Plan, key: str, text: str) -> int:
    queued = 0
    for channel, recipient in _contacts(inspector):
        outbox.enqueue(
            session,
            channel=channel,
            recipient=recipient,
            subject=f"检查任务通知：{plan.code}",
            body=f"{SIGNATURE}{inspector.name}同志：{text}请登录双随机监管平台查看检查任务。",
            dedup_key=f"{key}:{channel}",
            department_id=inspector.department_id,
        )
        queued += 1
    return queued


def notify_assignments(session: Session, draw: Draw) -> int:
    """Queue an assignment notice to each inspector of the draw; returns the messages queued."""
    plan = draw.plan
    load = Counter(
        session.scalars(
            select(DrawAssignment.inspector_id).where(
                DrawAssignment.draw_id == draw.id, DrawAssignment.inspector_id.is_not(None)
            )
        )
    )
    if not load:
        return 0
    staff = session.scalars(select(Inspector).where(Inspector.id.in_(load))).all()
    queued = 0
    for inspector in sorted(staff, key=lambda i: i.id):
        text = (
            f"您已被随机抽取参加“{plan.title}”（{plan.code}）的检查，"
            f"共 {load[inspector.id]} 户{_window(plan)}。"
        )
        queued += _notify(session, inspector, plan, f"assign:{draw.id}:{inspector.id}", text)
    return queued


def notify_replacement(session: Session, draw: Draw, replacement: DrawReplacement) -> int:
    """Queue a notice to the inspector a replacement put on a team (none when unstaffed)."""
    if replacement.inspector_id is None:
        return 0
    inspector = session.get(Inspector, replacement.inspector_id)
    plan = draw.plan
    text = f"您已被随机抽取替换参加“{plan.title}”（{plan.code}）一户企业的检查{_window(plan)}。"
    return _notify(session, inspector, plan, f"replace:{draw.id}:{replacement.n}", text)


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
            if d.state in ("soon", "overdue"):
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
            if d.state == "overdue"
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
