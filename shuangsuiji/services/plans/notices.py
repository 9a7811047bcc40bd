"""Assignment notices (任务通知): what goes to the outbox for inspectors a draw puts on a team.

An assignment notice goes to every inspector a draw or a replacement puts on a team, by SMS to
their mobile and by e-mail, when the registry has them (one message per inspector, draw and
channel, listing how many entities they go to). Messages carry a dedup key, so a draw stored
again queues nothing twice.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db import Draw, DrawAssignment, DrawReplacement, Inspector, Plan
from ..platform import outbox

SIGNATURE = "【双随机监管】"


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
