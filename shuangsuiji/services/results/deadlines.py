"""Deadlines (期限) and the stage of each task: what is due, what is late, what must be published.

A task here is one live draw of a plan (a one-off plan has one; a recurring plan one per batch)
or a commitment still waiting for its draw. Its stage follows the work:

    committed → drawn → fieldwork → results_entered → published → closed

(a reviewer's approval publishes the result, services/results/results.py: review and
publication are one step), and its deadlines come from the plan, its results and the
working-day calendar (services/platform/workdays.py):

- the fieldwork window ends on the plan's `fieldwork_end`; a batch of a recurring plan has
  its period (the month, quarter or year it was drawn for) as its window;
- results are entered within RESULTS_ENTRY_WORKDAYS working days after the window ends;
- results are published within PUBLICATION_WORKDAYS working days after the check ends
  (企业信息公示暂行条例 art. 6: 20 working days): counted from the earliest check date among
  the entered but unpublished results, else from the window's end, the latest day a check of
  the task may end on.

A deadline is "soon" when at most DEADLINE_WARN_WORKDAYS working days remain, "overdue" the
day after it passes while its work is not done. Nothing here writes: the dashboard and the
reminder sweep read it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ...db import Commitment, Draw, InspectionRecord, Plan, User
from ...db.states import DeadlineState, PlanStatus, RecordStatus, TaskStage
from ...domain.periods import period_of
from ..plans import eligibility, plans
from ..platform import workdays

STAGES = {
    TaskStage.COMMITTED: "已承诺待抽取",
    TaskStage.DRAWN: "已抽取待检查",
    TaskStage.FIELDWORK: "检查中",
    TaskStage.RESULTS_ENTERED: "结果已录入待审核公示",
    TaskStage.PUBLISHED: "结果已公示",
    TaskStage.CLOSED: "已结束",
}
STATES = {
    DeadlineState.DONE: "已完成",
    DeadlineState.OPEN: "未到期",
    DeadlineState.SOON: "即将到期",
    DeadlineState.OVERDUE: "已逾期",
}


@dataclass(frozen=True)
class Rules:
    """The deadline settings (config keys of the same names), in working days."""

    results_entry_workdays: int = 5
    publication_workdays: int = 20
    warn_workdays: int = 3

    @classmethod
    def from_config(cls, config) -> Rules:
        return cls(
            results_entry_workdays=config["RESULTS_ENTRY_WORKDAYS"],
            publication_workdays=config["PUBLICATION_WORKDAYS"],
            warn_workdays=config["DEADLINE_WARN_WORKDAYS"],
        )


@dataclass(frozen=True)
class Deadline:
    """One dated obligation of a task: `kind` (fieldwork, results_entry, publication)."""

    kind: str
    label: str
    due: dt.date
    done: bool
    state: DeadlineState  # as of the day the deadline was computed
    workdays_left: int  # working days from today to `due` (negative when overdue)


@dataclass(frozen=True)
class Counts:
    """How far a task's visits have got (from its inspection records)."""

    drawn: int = 0
    entered: int = 0  # submitted for review or published
    published: int = 0  # approved, hence published
    first_unpublished_check: dt.date | None = None  # earliest check date awaiting publication


@dataclass
class TaskProgress:
    """抽查任务进度: one task (a live draw, or a commitment awaiting its draw)."""

    plan: Plan
    draw: Draw | None
    commitment: Commitment | None
    stage: TaskStage
    counts: Counts
    deadlines: list[Deadline] = field(default_factory=list)

    @property
    def stage_label(self) -> str:
        return STAGES[self.stage]

    @property
    def worst(self) -> DeadlineState:
        """The most urgent state among the open deadlines ("done" when none is open)."""
        order = (DeadlineState.OVERDUE, DeadlineState.SOON, DeadlineState.OPEN)
        states = {d.state for d in self.deadlines}
        return next((s for s in order if s in states), DeadlineState.DONE)


def _state(due: dt.date, done: bool, today: dt.date, left: int, rules: Rules) -> DeadlineState:
    if done:
        return DeadlineState.DONE
    if today > due:
        return DeadlineState.OVERDUE
    return DeadlineState.SOON if left <= rules.warn_workdays else DeadlineState.OPEN


def _deadline(
    kind: str, label: str, due: dt.date, done: bool, today: dt.date, cal, rules: Rules
) -> Deadline:
    left = cal.workdays_between(today, due)
    return Deadline(kind, label, due, done, _state(due, done, today, left, rules), left)


def window(plan: Plan, draw: Draw | None) -> tuple[dt.date | None, dt.date | None]:
    """The task's fieldwork window: its batch's period, else the plan's dates."""
    key = getattr(draw, "batch_key", None)
    period = period_of(plan.recurrence, key) if key else None
    if period is not None:
        return period.start, period.end
    return plan.fieldwork_start, plan.fieldwork_end


def stage_of(plan: Plan, draw: Draw | None, counts: Counts, today: dt.date) -> TaskStage:
    """The stage of a task: the last step whose work is complete, in lifecycle order."""
    if plan.status == PlanStatus.CLOSED:
        return TaskStage.CLOSED
    if draw is None:
        return TaskStage.COMMITTED
    if counts.drawn and counts.published >= counts.drawn:
        return TaskStage.PUBLISHED
    if counts.drawn and counts.entered >= counts.drawn:
        return TaskStage.RESULTS_ENTERED
    start, _ = window(plan, draw)
    if start and today < start and not counts.entered:
        return TaskStage.DRAWN
    return TaskStage.FIELDWORK


def deadlines_of(
    end: dt.date | None, stage: TaskStage, counts: Counts, today: dt.date, cal, rules: Rules
) -> list[Deadline]:
    """The task's deadlines in date order, for a fieldwork window ending on `end`; without an
    end nothing is dated."""
    if end is None or stage in (TaskStage.COMMITTED, TaskStage.CLOSED):
        return []
    entered = stage in (TaskStage.RESULTS_ENTERED, TaskStage.PUBLISHED)
    checked = counts.first_unpublished_check or end
    found = [
        _deadline("fieldwork", "实地检查结束", end, entered or today > end, today, cal, rules),
        _deadline(
            "results_entry",
            "检查结果录入",
            cal.add_workdays(end, rules.results_entry_workdays),
            entered,
            today,
            cal,
            rules,
        ),
        _deadline(
            "publication",
            "检查结果公示（20个工作日内）",
            cal.add_workdays(min(checked, end), rules.publication_workdays),
            stage == TaskStage.PUBLISHED,
            today,
            cal,
            rules,
        ),
    ]
    return sorted(found, key=lambda d: d.due)


def _counts(session: Session, draws: list[Draw]) -> dict[int, Counts]:
    """Per draw: drawn entities (from its summary) and its records by status (one query)."""
    entered = func.sum(
        case(
            (InspectionRecord.status.in_((RecordStatus.SUBMITTED, RecordStatus.PUBLISHED)), 1),
            else_=0,
        )
    )
    published = func.sum(case((InspectionRecord.status == RecordStatus.PUBLISHED, 1), else_=0))
    first = func.min(
        case(
            (InspectionRecord.status == RecordStatus.SUBMITTED, InspectionRecord.checked_on),
            else_=None,
        )
    )
    rows = session.execute(
        select(InspectionRecord.draw_id, entered, published, first)
        .where(InspectionRecord.draw_id.in_([d.id for d in draws]))
        .group_by(InspectionRecord.draw_id)
    )
    found = {draw_id: (int(e or 0), int(p or 0), f) for draw_id, e, p, f in rows}
    return {
        draw.id: Counts(draw.summary_doc.drawn, *found.get(draw.id, (0, 0, None))) for draw in draws
    }


def tasks_of(session: Session, actor: User, *, today: dt.date, rules: Rules) -> list[TaskProgress]:
    """Every open task the actor may see (a joint plan's participants too), with its stage and
    deadlines, most urgent first."""
    return progress(session, plans.readable(actor), today=today, rules=rules)


def progress(session: Session, *where, today: dt.date, rules: Rules) -> list[TaskProgress]:
    """The open tasks of the plans matching `where` (all departments when none is given)."""
    query = select(Plan).where(Plan.status.not_in((PlanStatus.DRAFT, PlanStatus.CLOSED)), *where)
    plan_list = list(session.scalars(query))
    if not plan_list:
        return []
    ids = [p.id for p in plan_list]
    draws = list(
        session.scalars(
            select(Draw).where(Draw.plan_id.in_(ids), Draw.id.in_(eligibility.live_draws()))
        )
    )
    counts = _counts(session, draws)
    by_plan: dict[int, list[Draw]] = {}
    for draw in draws:
        by_plan.setdefault(draw.plan_id, []).append(draw)
    undrawn = _undrawn_commitments(
        session, [p.id for p in plan_list if p.status == PlanStatus.COMMITTED]
    )
    cal = workdays.load(session)
    result = []
    for plan in plan_list:
        entries = [(d, d.commitment, counts[d.id]) for d in by_plan.get(plan.id, [])]
        entries += [(None, c, Counts()) for c in undrawn.get(plan.id, [])]
        for draw, commitment, count in entries:
            stage = stage_of(plan, draw, count, today)
            result.append(
                TaskProgress(
                    plan=plan,
                    draw=draw,
                    commitment=commitment,
                    stage=stage,
                    counts=count,
                    deadlines=deadlines_of(window(plan, draw)[1], stage, count, today, cal, rules),
                )
            )
    urgency = {
        DeadlineState.OVERDUE: 0,
        DeadlineState.SOON: 1,
        DeadlineState.OPEN: 2,
        DeadlineState.DONE: 3,
    }
    result.sort(
        key=lambda t: (
            urgency[t.worst],
            min((d.due for d in t.deadlines if not d.done), default=dt.date.max),
            t.plan.id,
        )
    )
    return result


def _undrawn_commitments(session: Session, plan_ids: list[int]) -> dict[int, list[Commitment]]:
    """Commitments of these plans that no draw has used yet (the task awaits its draw)."""
    used = select(Draw.commitment_id)
    rows = session.scalars(
        select(Commitment)
        .where(Commitment.plan_id.in_(plan_ids), Commitment.id.not_in(used))
        .order_by(Commitment.id)
    )
    out: dict[int, list[Commitment]] = {}
    for commitment in rows:
        out.setdefault(commitment.plan_id, []).append(commitment)
    return out
