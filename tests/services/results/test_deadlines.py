"""Task stages and deadlines: lifecycle order, working days with 调休, the dashboard's list."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import chinese_calendar
import pytest

from shuangsuiji.db.states import DeadlineState, PlanStatus, TaskStage
from shuangsuiji.scheduler import batch_jobs
from shuangsuiji.services.platform import workdays
from shuangsuiji.services.results import deadlines, results
from shuangsuiji.services.results.deadlines import Counts, Rules

from ... import factories, results_world
from ...draw_world import TODAY, populate
from ...recur_world import TIMING, active_plan, beijing

D = dt.date
CAL = workdays.Calendar()
RULES = Rules(results_entry_workdays=5, publication_workdays=20, warn_workdays=3)


def oracle_add_workdays(day: dt.date, n: int) -> dt.date:
    """The n-th working day after `day`, by chinese-calendar itself."""
    return chinese_calendar.find_workday(n - 1, day + dt.timedelta(days=1))


def a_plan(**kw):
    values = {
        "status": PlanStatus.DRAWN,
        "fieldwork_start": None,
        "fieldwork_end": None,
        "recurrence": "once",
    } | kw
    return SimpleNamespace(**values)


def test_deadlines_equal_chinese_calendar_every_day_of_2024_to_2026():
    # Up to mid-November 2026: 20 working days later must still be inside chinese-calendar's data.
    day = dt.date(2024, 1, 1)
    while day <= dt.date(2026, 11, 15):
        found = deadlines.deadlines_of(day, "fieldwork", Counts(drawn=1), day, CAL, RULES)
        due = {d.kind: d.due for d in found}
        assert due["fieldwork"] == day
        assert due["results_entry"] == oracle_add_workdays(day, 5), day
        assert due["publication"] == oracle_add_workdays(day, 20), day
        day += dt.timedelta(days=1)


def test_publication_across_the_2026_spring_festival():
    # 2026-02-15 … 02-23 off; Saturday 02-14 and Saturday 02-28 are 调休 working days.
    end = dt.date(2026, 2, 11)
    found = deadlines.deadlines_of(end, "fieldwork", Counts(1), end, CAL, RULES)
    due = {d.kind: d.due for d in found}
    # 02-12, 02-13, 02-14 (调休 Saturday), then 02-24, 02-25 after the holiday.
    assert due["results_entry"] == dt.date(2026, 2, 25)
    assert due["publication"] == oracle_add_workdays(end, 20)


@pytest.mark.parametrize(
    ("today", "state", "left"),
    [
        (dt.date(2025, 9, 1), "open", None),
        (dt.date(2025, 10, 9), "open", 4),  # 10-10, 10-11 (调休 Saturday), 10-13, 10-14 remain
        (dt.date(2025, 10, 10), "soon", 3),
        (dt.date(2025, 10, 14), "soon", 0),
        (dt.date(2025, 10, 15), "overdue", -1),
    ],
)
def test_a_deadline_is_soon_then_overdue(today, state, left):
    end = dt.date(2025, 9, 30)  # results due 5 working days later, across National Day
    due = oracle_add_workdays(end, 5)
    assert due == dt.date(2025, 10, 14)
    found = deadlines.deadlines_of(end, "fieldwork", Counts(1), today, CAL, RULES)
    entry = next(d for d in found if d.kind == "results_entry")
    assert entry.state == state
    if left is not None:
        assert entry.workdays_left == left


def test_done_work_is_never_overdue():
    end = dt.date(2025, 3, 3)
    late = dt.date(2025, 6, 1)
    found = deadlines.deadlines_of(end, "published", Counts(2, 2, 2), late, CAL, RULES)
    assert {d.state for d in found} == {"done"}


def test_publication_counts_from_the_earliest_unpublished_check():
    end = dt.date(2025, 9, 30)
    counts = Counts(drawn=5, entered=3, published=1, first_unpublished_check=dt.date(2025, 9, 1))
    found = deadlines.deadlines_of(end, "fieldwork", counts, dt.date(2025, 9, 2), CAL, RULES)
    due = {d.kind: d.due for d in found}
    assert due["publication"] == oracle_add_workdays(dt.date(2025, 9, 1), 20)
    assert due["results_entry"] == oracle_add_workdays(end, 5)


def test_without_a_fieldwork_end_nothing_is_dated():
    assert deadlines.deadlines_of(None, TaskStage.FIELDWORK, Counts(1), TODAY, CAL, RULES) == []


@pytest.mark.parametrize(
    ("status", "drawn", "counts", "today", "stage"),
    [
        (PlanStatus.COMMITTED, False, Counts(), TODAY, TaskStage.COMMITTED),
        (PlanStatus.DRAWN, True, Counts(10), dt.date(2026, 11, 1), TaskStage.DRAWN),
        (PlanStatus.DRAWN, True, Counts(10), dt.date(2026, 12, 2), TaskStage.FIELDWORK),
        (PlanStatus.DRAWN, True, Counts(10, 3), dt.date(2026, 11, 1), TaskStage.FIELDWORK),
        (PlanStatus.DRAWN, True, Counts(10, 10, 4), TODAY, TaskStage.RESULTS_ENTERED),
        (PlanStatus.DRAWN, True, Counts(10, 10, 10), TODAY, TaskStage.PUBLISHED),
        (PlanStatus.CLOSED, True, Counts(10, 10, 10), TODAY, TaskStage.CLOSED),
    ],
)
def test_stage_follows_the_work_in_lifecycle_order(status, drawn, counts, today, stage):
    plan = a_plan(status=status, fieldwork_start=dt.date(2026, 12, 1))
    assert deadlines.stage_of(plan, object() if drawn else None, counts, today) == stage


# -- the dashboard's list, from the database --------------------------------------------------


def _drawn_plan(session, world, registry, code, **values):
    plan = factories.PlanFactory(
        actor=world["admin_a"], code=code, matters=[registry["matter"]], **values
    )
    factories.DrawFactory(actor=world["admin_a"], commitment__plan=plan)
    return plan


def test_tasks_are_listed_most_urgent_first_and_only_for_the_department(session, world):
    registry = populate(session, world["a"], entities=30)
    late = _drawn_plan(
        session, world, registry, "LATE-1", fieldwork_start="2026-10-01", fieldwork_end="2026-10-20"
    )
    later = _drawn_plan(
        session,
        world,
        registry,
        "LATER-1",
        fieldwork_start="2026-12-01",
        fieldwork_end="2026-12-20",
    )
    factories.CommitmentFactory(
        actor=world["admin_a"], plan__code="WAIT-1", plan__matters=[registry["matter"]]
    )

    found = deadlines.tasks_of(session, world["admin_a"], today=TODAY, rules=RULES)
    assert [t.plan.code for t in found] == ["LATE-1", "LATER-1", "WAIT-1"]
    first = found[0]
    assert first.stage == TaskStage.FIELDWORK
    assert first.worst == DeadlineState.OVERDUE
    assert first.counts.drawn > 0
    assert {d.kind: d.state for d in first.deadlines} == {
        "fieldwork": "done",
        "results_entry": "overdue",
        "publication": "overdue",
    }
    assert found[1].stage == TaskStage.DRAWN and found[1].worst == DeadlineState.OPEN
    assert found[2].stage == TaskStage.COMMITTED and found[2].draw is None
    assert later.id == found[1].plan.id and late.id == first.plan.id

    assert deadlines.tasks_of(session, world["admin_b"], today=TODAY, rules=RULES) == []


def test_the_counts_follow_the_inspection_records(session, world):
    w = results_world.drawn(session, world)
    position = results_world.enter(session, w, world["insp_a"])
    (task,) = deadlines.tasks_of(session, world["admin_a"], today=w["today"], rules=RULES)
    assert (task.counts.entered, task.counts.published) == (1, 0)
    assert task.counts.first_unpublished_check == w["checked_on"]
    results.review(
        session,
        actor=world["admin_a"],
        draw_id=w["draw"].id,
        position=position,
        decision="approve",
        comment="",
    )
    (task,) = deadlines.tasks_of(session, world["admin_a"], today=w["today"], rules=RULES)
    assert (task.counts.entered, task.counts.published) == (1, 1)
    assert task.counts.first_unpublished_check is None
    assert task.counts.drawn > 1 and task.stage == TaskStage.FIELDWORK


def test_a_batch_of_a_recurring_plan_has_its_period_as_fieldwork_window(
    session, db, world, registry
):
    plan = active_plan(session, world["admin_a"], world["a"], registry["matter"])
    session.commit()
    batch_jobs.ensure_due(db, now=beijing(2027, 2, 1, 9, 0, 1), timing=TIMING)
    found = deadlines.tasks_of(session, world["admin_a"], today=D(2027, 2, 10), rules=RULES)
    windows = {
        t.draw.batch_key: {d.kind: d.due for d in t.deadlines}["fieldwork"]
        for t in found
        if t.plan.id == plan.id
    }
    assert windows == {"2027-01": D(2027, 1, 31), "2027-02": D(2027, 2, 28)}
