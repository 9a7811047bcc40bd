"""Consent to a joint plan (联合抽查的参加确认).

A joint plan names other departments in its team slots (its 配合部门). Naming a department
sends it a request; its administrator accepts (确认参加) or declines with a reason. Until every
participant has accepted, the plan cannot be committed (nor a recurring plan activated, nor its
next batch committed): the lead department cannot staff its teams with another department's
inspectors, and see their names, without that department's consent. Meanwhile the lead sees
only how many of the participant's inspectors are eligible.

A draft changed after a department answered asks that department again. An answer may be
changed while the plan is a draft, drawn (before a redraw) or active (before the next batch).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import sizes
from ...db import (
    Department,
    ParticipationStatus,
    Plan,
    PlanParticipation,
    PlanStatus,
    User,
    utcnow,
)
from ...errors import Conflict, Invalid, NotFound
from ..pages import Keyset, Order, keyset
from ..platform import audit
from ..scope import administers, reads_all, require_admin_of
from . import eligibility, settings

STATUS_LABELS = {
    ParticipationStatus.PENDING: "待确认",
    ParticipationStatus.ACCEPTED: "已确认参加",
    ParticipationStatus.DECLINED: "已拒绝",
}
# The plan states in which a participant may still answer: a later commitment depends on it.
DECIDABLE = (PlanStatus.DRAFT, PlanStatus.DRAWN, PlanStatus.ACTIVE)
REASON_MAX = sizes.NOTE_TEXT


def snapshot(row: PlanParticipation) -> dict:
    return {
        "plan_id": row.plan_id,
        "department": row.department.code,
        "status": row.status,
        "reason": row.reason,
    }


def of_plan(session: Session, plan: Plan) -> list[PlanParticipation]:
    """The plan's requests, one per participating department, by department code."""
    return list(
        session.scalars(
            select(PlanParticipation)
            .join(Department, Department.id == PlanParticipation.department_id)
            .where(PlanParticipation.plan_id == plan.id)
            .order_by(Department.code)
        )
    )


def requests_for(
    session: Session, actor: User, *, status: str | None = None
) -> list[PlanParticipation]:
    """The requests addressed to the actor's department (every department's for the system
    administrator and the auditors), newest first."""
    query = select(PlanParticipation).order_by(PlanParticipation.id.desc())
    if not reads_all(actor):
        query = query.where(PlanParticipation.department_id == actor.department_id)
    if status:
        query = query.where(PlanParticipation.status == status)
    return list(session.scalars(query))


NEWEST_REQUESTS: Order = ((PlanParticipation.id, True),)


def requests_page(
    session: Session,
    actor: User,
    *,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Keyset:
    """One page of requests_for, newest first, after `cursor`."""
    query = select(PlanParticipation)
    if not reads_all(actor):
        query = query.where(PlanParticipation.department_id == actor.department_id)
    if status:
        query = query.where(PlanParticipation.status == status)
    return keyset(session, query, NEWEST_REQUESTS, cursor=cursor, limit=limit)


def answerable(actor: User, rows: list[PlanParticipation]) -> set[int]:
    """The departments among `rows` whose answer the actor may give."""
    return {row.department_id for row in rows if administers(actor, row.department_id)}


def lock_plan(session: Session, plan_id: int) -> Plan | None:
    """The plan, read afresh and locked until the end of the transaction (FOR UPDATE on
    PostgreSQL; on SQLite the write transaction, BEGIN IMMEDIATE, already holds the lock):
    requests on one plan that must not overlap (answers, edits, the commitment, a draw
    request) take their turns."""
    return session.scalar(
        select(Plan)
        .where(Plan.id == plan_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _rows(session: Session, plan_id: int) -> dict[int, PlanParticipation]:
    rows = session.scalars(
        select(PlanParticipation)
        .where(PlanParticipation.plan_id == plan_id)
        .execution_options(populate_existing=True)
    )
    return {row.department_id: row for row in rows}


def sync(session: Session, plan: Plan, *, actor: User, changed: bool) -> None:
    """Keep one request per participating department after the plan was created or edited:
    a newly named department gets a pending request, a department no longer named loses its
    request, and when the draft `changed`, the departments that had answered are asked again
    (they agreed to, or refused, what the plan was)."""
    lock_plan(session, plan.id)
    rows = _rows(session, plan.id)
    wanted = {d.id: d for d in plan.participants}
    for department_id, row in rows.items():
        if department_id not in wanted:
            _record(
                session, actor, row, action="plans.participation.withdraw", before=snapshot(row)
            )
            session.delete(row)
        elif changed and row.status != ParticipationStatus.PENDING:
            before = snapshot(row)
            row.status = ParticipationStatus.PENDING
            row.reason = None
            row.requested_at = utcnow()
            row.decided_at = None
            row.decided_by_id = None
            session.flush()
            _record(session, actor, row, action="plans.participation.request", before=before)
    for department_id, department in wanted.items():
        if department_id not in rows:
            row = PlanParticipation(
                plan_id=plan.id,
                department_id=department_id,
                department=department,
                status=ParticipationStatus.PENDING,
            )
            session.add(row)
            session.flush()
            _record(session, actor, row, action="plans.participation.request")
    session.flush()


def _record(
    session: Session, actor: User | None, row: PlanParticipation, *, action: str, before=None
) -> None:
    # Filed under the participating department: its administrator reads it in its own trail.
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="plan",
        object_id=row.plan_id,
        before=before,
        after=None if action == "plans.participation.withdraw" else snapshot(row),
        department_id=row.department_id,
    )


def decide(
    session: Session,
    *,
    actor: User,
    plan_id: int,
    department_id: int,
    accept: bool | None,
    reason: str | None = None,
) -> PlanParticipation:
    """The participating department's answer: accept, or decline with a reason. Only that
    department's administrator (or the system administrator) answers; the lead department
    cannot answer for it. Answering again with the same answer changes nothing."""
    plan = lock_plan(session, plan_id)
    row = _rows(session, plan_id).get(department_id) if plan is not None else None
    sees_plan = plan is not None and (
        reads_all(actor) or actor.department_id in (plan.department_id, department_id)
    )
    if row is None and sees_plan and department_id == plan.department_id:
        raise Conflict("发起部门无需确认参加：只有配合部门答复")
    if row is None or not sees_plan:
        raise NotFound("联合抽查邀请不存在")
    require_admin_of(actor, department_id)  # the lead department cannot answer for it
    if accept is None:
        raise Invalid("请选择确认参加或拒绝", errors={"decision": ["须为 accept 或 decline"]})
    if plan.status not in DECIDABLE:
        raise Conflict("任务已承诺，等待抽取期间不能更改参加确认")
    text = (reason or "").strip()
    if not accept and not text:
        raise Invalid("拒绝参加须填写理由", errors={"reason": ["不能为空"]})
    if len(text) > REASON_MAX:
        raise Invalid("理由过长", errors={"reason": [f"最多 {REASON_MAX} 个字"]})
    status = ParticipationStatus.ACCEPTED if accept else ParticipationStatus.DECLINED
    if row.status == status and (accept or row.reason == text):
        return row
    before = snapshot(row)
    row.status = status
    row.reason = None if accept else text
    row.decided_at = utcnow()
    row.decided_by_id = actor.id
    session.flush()
    _record(
        session,
        actor,
        row,
        action="plans.participation.accept" if accept else "plans.participation.decline",
        before=before,
    )
    return row


def require_consent(session: Session, plan: Plan) -> None:
    """Called before a plan is committed (or activated): every participating department must
    have accepted. Conflict names those that have not, and why."""
    if not plan.participants:
        return
    lock_plan(session, plan.id)
    rows = _rows(session, plan.id)
    missing = []
    for department in plan.participants:
        row = rows.get(department.id)
        if row is None or row.status == ParticipationStatus.PENDING:
            missing.append(f"{department.name}（待确认）")
        elif row.status == ParticipationStatus.DECLINED:
            missing.append(f"{department.name}（已拒绝：{row.reason}）")
    if missing:
        raise Conflict(
            "配合部门尚未确认参加，不能承诺：" + "；".join(missing),
            errors={"participants": missing},
        )


def eligible_counts(
    session: Session, plan: Plan, today: dt.date, *, viewer: User
) -> dict[int, int]:
    """How many of each participating department's inspectors the plan could staff its
    teams with today: the lead department (and the cross-department readers) see every
    participant's count, a participant its own; never the names."""
    codes = {
        d.code: d.id
        for d in plan.participants
        if reads_all(viewer) or viewer.department_id in (plan.department_id, d.id)
    }
    if not codes:
        return {}
    inspectors, _ = eligibility.eligible_inspectors(
        session, plan, settings.config(plan)["slots"], today
    )
    counts = Counter(codes[i.dept] for i in inspectors if i.dept in codes)
    return {department_id: counts.get(department_id, 0) for department_id in codes.values()}
