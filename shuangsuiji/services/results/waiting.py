"""What waits for a user (工作台): counts, each of which a page lists, never the rows.

Each count is one COUNT query over the same query its list page runs (so the number and the
list agree, and scope decides what is seen: a department's administrator counts the
departments they see), or a count over the open tasks the 工作台 has computed anyway:

- 待审核: submitted results the user may review (administrators);
- 列入候选: 经营异常名录 candidates awaiting the decision (administrators);
- 即将到期 / 已逾期: open tasks whose nearest deadline is close or past;
- an inspector's own: visits to enter (of them, past their window), returned for correction.

`department_ids`, when given, narrows the administrators' counts to those departments (a
level of the hierarchy's roll-up); the tasks given are counted as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...db import AbnormalListing, InspectionRecord, User
from ...db.states import DeadlineState, ListingStatus, RecordStatus
from ..scope import is_admin
from . import credit, results, worklist
from .deadlines import TaskProgress


@dataclass(frozen=True)
class Waiting:
    """The counts of the 工作台's top row; None: not this user's kind of work."""

    to_review: int | None = None
    candidates: int | None = None
    soon: int = 0
    overdue: int = 0
    to_enter: int | None = None  # an inspector's visits still to enter or hand over
    late: int | None = None  # of those, past their fieldwork window
    returned: int | None = None  # returned for correction (or not approved)


@dataclass(frozen=True)
class TaskCounts:
    """The open tasks by stage and by the state of their nearest deadline."""

    total: int
    by_stage: dict[str, int]
    by_state: dict[str, int]


def _count(session: Session, query) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def task_counts(tasks: Sequence[TaskProgress]) -> TaskCounts:
    by_stage: dict[str, int] = {}
    by_state: dict[str, int] = {}
    for task in tasks:
        by_stage[task.stage] = by_stage.get(task.stage, 0) + 1
        by_state[task.worst] = by_state.get(task.worst, 0) + 1
    return TaskCounts(total=len(tasks), by_stage=by_stage, by_state=by_state)


def for_user(
    session: Session,
    actor: User,
    *,
    today: dt.date,
    tasks: Sequence[TaskProgress],
    inspector_id: int | None = None,
    department_ids: Collection[int] | None = None,
) -> Waiting:
    """What waits for `actor`: the review queue and the listing candidates of an
    administrator, the deadlines among `tasks`, and with `inspector_id` (the inspector record
    of the account) the inspector's own visits."""
    counts = task_counts(tasks)
    soon = counts.by_state.get(DeadlineState.SOON, 0)
    overdue = counts.by_state.get(DeadlineState.OVERDUE, 0)
    review = candidates = None
    if is_admin(actor):
        queue = results.review_queue(actor, status=RecordStatus.SUBMITTED)
        listing = credit.listing_query(actor, today=today, status=ListingStatus.CANDIDATE)
        if department_ids is not None:
            queue = queue.where(InspectionRecord.department_id.in_(department_ids))
            listing = listing.where(AbnormalListing.department_id.in_(department_ids))
        review, candidates = _count(session, queue), _count(session, listing)
    to_enter = late = returned = None
    if inspector_id is not None:
        mine = worklist.summary(session, actor, inspector_id, today=today)
        to_enter, late, returned = mine.to_enter, mine.late, mine.returned
        soon, overdue = mine.soon, mine.late
    return Waiting(
        to_review=review,
        candidates=candidates,
        soon=soon,
        overdue=overdue,
        to_enter=to_enter,
        late=late,
        returned=returned,
    )
