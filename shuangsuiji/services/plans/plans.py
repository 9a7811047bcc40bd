"""Plans (抽查任务): read, create and edit drafts, commit them, close them.

A plan's values are checked in settings.py; which entities and inspectors a plan may draw is
eligibility.py; what committing freezes and stores is commitments.py. Draws (draws.py) run on
a commitment; recurring plans are batches.py.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from ...db import (
    Commitment,
    Department,
    Draw,
    Plan,
    User,
    plan_departments,
    plan_matters,
)
from ...db.states import PlanStatus
from ...errors import Conflict, Invalid, NotFound
from ..pages import Keyset, keyset
from ..platform import audit
from ..scope import require_admin_of, sees_strata, sees_whole_plan, visible
from . import participation
from .commitments import build_inputs, store_commitment
from .settings import DEFAULT_RANDOMNESS, config, encoded, parse_values, participants_of

NEWEST_PLANS = ((Plan.id, True),)  # plan ids grow with time: newest first

STATUS_LABELS = {
    PlanStatus.DRAFT: "草稿",
    PlanStatus.COMMITTED: "已承诺",
    PlanStatus.DRAWN: "已抽取",
    PlanStatus.ACTIVE: "已启用（按批次自动抽取）",
    PlanStatus.CLOSED: "已结束",
}


# -- reading -------------------------------------------------------------------------------


def is_participant(actor: User, plan: Plan) -> bool:
    """Whether the actor belongs to a participating (配合) department of a joint plan."""
    return actor.department_id is not None and any(
        d.id == actor.department_id for d in plan.participants
    )


def sees_all_of(actor: User, plan: Plan) -> bool:
    """Whether the actor sees every department's part of the plan: the lead department's
    users, the system administrator and the auditors (participants see their own part)."""
    return sees_whole_plan(actor, plan.department_id)


def slots_of(plan: Plan, department_id: int | None) -> set[int]:
    """The slot indexes of a department in the plan's teams."""
    code = next(
        (d.code for d in [plan.department, *plan.participants] if d.id == department_id), None
    )
    return {i for i, s in enumerate(plan.slot_codes) if s == code}


def get(session: Session, actor: User, plan_id: int) -> Plan:
    """The plan if the actor may read it: its lead department, its participating departments,
    the system administrator and the auditors; NotFound otherwise."""
    plan = session.get(Plan, plan_id)
    if plan is None or not (sees_all_of(actor, plan) or is_participant(actor, plan)):
        raise NotFound("抽查任务不存在")
    return plan


def lock(session: Session, plan: Plan) -> Plan:
    """Lock the plan's row until the end of the transaction and read it afresh."""
    return participation.lock_plan(session, plan.id)


def readable(actor: User):
    """A WHERE clause on Plan: the plans `get` lets the actor read (lead or participant)."""
    joint = select(plan_departments.c.plan_id).where(
        plan_departments.c.department_id == actor.department_id
    )
    return or_(visible(actor, Plan.department_id), Plan.id.in_(joint))


def list_visible(session: Session, actor: User, *, status: str | None = None) -> list[Plan]:
    query = select(Plan).where(readable(actor)).order_by(Plan.id.desc())
    if status:
        query = query.where(Plan.status == status)
    return list(session.scalars(query))


def involving(department_id: int):
    """A WHERE clause on Plan: led by the department, or a joint plan it takes part in."""
    joined = select(plan_departments.c.plan_id).where(
        plan_departments.c.department_id == department_id
    )
    return or_(Plan.department_id == department_id, Plan.id.in_(joined))


def checking(matter_id: int):
    """A WHERE clause on Plan: the plan checks the matter."""
    return Plan.id.in_(select(plan_matters.c.plan_id).where(plan_matters.c.matter_id == matter_id))


MIN_YEAR, MAX_YEAR = 2000, 2999  # the years a plan can be searched by
BEIJING = dt.timezone(dt.timedelta(hours=8))


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of `year` and of the next, Beijing time; Invalid beyond the range."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Invalid("年份无效", errors={"year": [f"须在 {MIN_YEAR} 至 {MAX_YEAR} 之间"]})
    start = dt.datetime(year, 1, 1, tzinfo=BEIJING)
    return start, start.replace(year=year + 1)


def page_visible(
    session: Session,
    actor: User,
    *,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    year: int | None = None,
    department_id: int | None = None,
    matter_id: int | None = None,
) -> Keyset:
    """One page of the plans the actor may read, newest first (by id), after `cursor`.
    `year`: a recurring plan's year, else the year it was made (Beijing time);
    `department_id`: led by it or joined; `matter_id`: checking it."""
    # A page's matters and participating departments in one statement each, not one per plan.
    query = (
        select(Plan)
        .where(readable(actor))
        .options(selectinload(Plan.matters), selectinload(Plan.participants))
    )
    if status:
        query = query.where(Plan.status == status)
    if year is not None:
        start, end = year_bounds(year)
        made = and_(Plan.created_at >= start, Plan.created_at < end)
        query = query.where(or_(Plan.plan_year == year, and_(Plan.plan_year.is_(None), made)))
    if department_id is not None:
        query = query.where(involving(department_id))
    if matter_id is not None:
        query = query.where(checking(matter_id))
    return keyset(session, query, NEWEST_PLANS, cursor=cursor, limit=limit)


def first_year(session: Session) -> int | None:
    """The year (Beijing time) the first plan was made, for the year filter."""
    first = session.scalar(select(func.min(Plan.created_at)))  # aware: min() keeps the type
    return first.astimezone(BEIJING).year if first else None


def snapshot(plan: Plan) -> dict:
    return (
        {"id": plan.id, "department_id": plan.department_id, "status": plan.status}
        | config(plan)
        | {"participants": [d.code for d in plan.participants]}
    )


def snapshot_for(viewer: User, plan: Plan) -> dict:
    """The plan's settings as the viewer may read them: without the ratios or counts per
    credit-risk class for a participating department (`scope.sees_strata`)."""
    data = snapshot(plan)
    if not sees_strata(viewer, plan.department_id):
        del data["strata"]
    return data


def commitment_summary_for(viewer: User, plan: Plan, commitment: Commitment) -> dict:
    """What a commitment froze, counted, as the viewer may read it: the totals only (no N
    and k per class, no yearly split per class) for a participating department."""
    data = commitment.summary_doc.as_dict()
    if sees_strata(viewer, plan.department_id):
        return data
    return {k: v for k, v in data.items() if k not in ("strata", "batch")}


def commitments(session: Session, plan: Plan) -> list[Commitment]:
    return list(
        session.scalars(
            select(Commitment).where(Commitment.plan_id == plan.id).order_by(Commitment.seq)
        )
    )


def commitments_of(session: Session, plan_ids: list[int]) -> dict[int, list[Commitment]]:
    """`commitments` of each of a page of plans, in one statement."""
    found: dict[int, list[Commitment]] = {plan_id: [] for plan_id in plan_ids}
    if plan_ids:
        for commitment in session.scalars(
            select(Commitment)
            .where(Commitment.plan_id.in_(plan_ids))
            .order_by(Commitment.plan_id, Commitment.seq)
        ):
            found[commitment.plan_id].append(commitment)
    return found


def latest_commitment(session: Session, plan: Plan) -> Commitment | None:
    return session.scalar(
        select(Commitment)
        .where(Commitment.plan_id == plan.id)
        .order_by(Commitment.seq.desc())
        .limit(1)
    )


def draws_of(session: Session, plan: Plan) -> list[Draw]:
    return list(session.scalars(select(Draw).where(Draw.plan_id == plan.id).order_by(Draw.id)))


def _apply(plan: Plan, values: dict) -> None:
    for name, value in encoded(values).items():
        setattr(plan, name, value)


def _check_code(session: Session, code: str | None, current: Plan | None) -> None:
    if code and session.scalar(
        select(Plan.id).where(Plan.code == code, Plan.id != (current.id if current else -1))
    ):
        raise Conflict("任务编号已存在", errors={"code": ["任务编号已存在"]})


def create(session: Session, *, actor: User, department_id: int, raw: dict) -> Plan:
    require_admin_of(actor, department_id)
    department = session.get(Department, department_id)
    if department is None:
        raise NotFound("部门不存在")
    raw = {
        "rounding": "ceil",
        "region_rule": "none",
        "selection": "uniform",
        "publish_mode": "after_fieldwork",
        "workload_cap": 20,
        "randomness": DEFAULT_RANDOMNESS,
        "exclude_open": True,
        "recurrence": "once",
    } | raw
    values = parse_values(session, department_id, raw, partial=False)
    _check_code(session, values.get("code"), None)
    plan = Plan(department_id=department_id, status=PlanStatus.DRAFT, created_by_id=actor.id)
    _apply(plan, values)
    plan.participants = participants_of(session, department_id, values["slots"])
    session.add(plan)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="plans.create",
        object_type="plan",
        object_id=plan.id,
        after=snapshot(plan),
        department_id=department_id,
    )
    participation.sync(session, plan, actor=actor, changed=False)
    return plan


def update(session: Session, *, actor: User, plan_id: int, raw: dict) -> Plan:
    plan = get(session, actor, plan_id)
    require_admin_of(actor, plan.department_id)
    if plan.status != PlanStatus.DRAFT:
        raise Conflict("任务已承诺，输入已冻结，不能修改")
    values = parse_values(session, plan.department_id, raw, partial=True, current=config(plan))
    _check_code(session, values.get("code"), plan)
    columns = encoded(values)
    if "slots" in values:
        columns["participants"] = participants_of(session, plan.department_id, values["slots"])
    before, after = audit.update_recorded(
        session,
        actor=actor,
        obj=plan,
        values=columns,
        snapshot=snapshot,
        action="plans.update",
        object_type="plan",
    )
    participation.sync(session, plan, actor=actor, changed=after != before)
    return plan


def commit(
    session: Session,
    *,
    actor: User,
    plan_id: int,
    today: dt.date,
    reason: str | None = None,
) -> Commitment:
    """Freeze the plan's inputs (draft → committed). A drawn plan is committed again only for a
    redraw, with a reason; the draw it makes will supersede the current one."""
    plan = get(session, actor, plan_id)
    require_admin_of(actor, plan.department_id)
    if plan.recurrence != "once":
        raise Conflict("周期任务由调度程序按批次自动承诺和抽取，请启用任务")
    if plan.status == PlanStatus.DRAFT:
        if reason:
            raise Invalid("首次承诺无需填写重新抽取理由")
    elif plan.status == PlanStatus.DRAWN:
        if not (reason and reason.strip()):
            raise Invalid("重新抽取须填写理由", errors={"reason": ["不能为空"]})
    else:
        raise Conflict(f"任务状态为“{STATUS_LABELS[plan.status]}”，不能承诺")
    participation.require_consent(session, plan)
    seq = next_seq(session, plan)
    srdp_id = plan.code if seq == 1 else f"{plan.code}.r{seq}"
    inputs = build_inputs(session, plan, srdp_id=srdp_id, today=today)
    commitment = store_commitment(
        session,
        plan,
        inputs,
        seq=seq,
        actor=actor,
        action="plans.commit",
        reason=reason.strip() if reason else None,
    )
    plan.status = PlanStatus.COMMITTED
    session.flush()
    return commitment


def next_seq(session: Session, plan: Plan) -> int:
    previous = latest_commitment(session, plan)
    return previous.seq + 1 if previous else 1


def close(session: Session, *, actor: User, plan_id: int) -> Plan:
    """End a drawn plan's work: its entities are no longer under an open inspection. Closing an
    active recurring plan also stops its batches."""
    plan = get(session, actor, plan_id)
    require_admin_of(actor, plan.department_id)
    if plan.status not in (PlanStatus.DRAWN, PlanStatus.ACTIVE):
        raise Conflict("只有已抽取或已启用的任务可以结束")
    audit.update_recorded(
        session,
        actor=actor,
        obj=plan,
        values={"status": PlanStatus.CLOSED},
        snapshot=snapshot,
        action="plans.close",
        object_type="plan",
    )
    return plan
