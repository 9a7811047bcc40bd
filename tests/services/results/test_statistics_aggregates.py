"""The statistics aggregates (stat_months, stat_strata, stat_cells) equal what the records say.

Seeded random histories are made through the services over several months and two
departments: draws, redraws (the old draw's results stop counting), results entered, returned
and entered again with another code (a correction), rejected, left waiting or published. After
every step the stored rows must equal a computation from the records written here, apart from
the code under test; `statistics rebuild` must give the same rows again, twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from sqlalchemy import select

from shuangsuiji.db import (
    Draw,
    DrawEntity,
    Entity,
    InspectionRecord,
    InspectionResult,
    Plan,
    StatCell,
    StatCellYear,
    StatMonth,
    StatStratum,
)
from shuangsuiji.db.states import RecordStatus
from shuangsuiji.services.plans import tallies

from ...history_world import History

BEIJING = dt.timezone(dt.timedelta(hours=8))
# Draw moments (UTC) on both sides of month ends in Beijing time.
MOMENTS = [
    dt.datetime(2025, 12, 31, 17, 0, tzinfo=dt.UTC),  # 2026-01-01 01:00 in Beijing
    dt.datetime(2025, 12, 31, 15, 0, tzinfo=dt.UTC),  # 2025-12-31 23:00 in Beijing
    dt.datetime(2026, 2, 10, 3, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 5, 3, 0, tzinfo=dt.UTC),
]


def _expected(session) -> tuple[dict, dict, dict]:
    """The three tables as computed straight from the records (every draw, record, result)."""
    replaced = {d.supersedes_id for d in session.scalars(select(Draw)) if d.supersedes_id}
    months: dict = defaultdict(lambda: [0, 0, 0])
    strata: dict = defaultdict(lambda: [0, 0, 0])
    cells: dict = defaultdict(lambda: [0, 0])
    problem = {"A", "E", "8"}  # A comes with each of its sub-codes
    for draw in session.scalars(select(Draw)):
        if draw.id in replaced:
            continue
        dept = session.get(Plan, draw.plan_id).department_id
        local = draw.created_at.astimezone(BEIJING)
        month = dt.date(local.year, local.month, 1)
        months[(dept, month)][0] += draw.summary_doc.drawn
        for s in draw.summary_doc.strata:
            row = strata[(dept, month, s.code)]
            row[0] = max(row[0], s.N)
        for record in session.scalars(
            select(InspectionRecord).where(InspectionRecord.draw_id == draw.id)
        ):
            if record.status not in (RecordStatus.SUBMITTED, RecordStatus.PUBLISHED):
                continue
            months[(dept, month)][1] += 1
            if record.status != RecordStatus.PUBLISHED:
                continue
            months[(dept, month)][2] += 1
            codes = set()
            for result in session.scalars(
                select(InspectionResult).where(InspectionResult.record_id == record.id)
            ):
                codes |= set(result.codes.split(","))
            y = int(bool(codes & problem))
            klass = session.get(DrawEntity, (draw.id, record.position)).stratum
            entity = session.get(Entity, record.entity_id)
            strata[(dept, month, klass)][1] += 1
            strata[(dept, month, klass)][2] += y
            for code in codes:
                cells[(dept, month, "code", "", code)][0] += 1
            for key in (
                ("checked", "", record.checked_on.strftime("%Y-%m")),
                ("region", klass, entity.region_code or ""),
                ("industry", klass, tallies.section_key(entity.industry_code)),
            ):
                cells[(dept, month, *key)][0] += 1
                cells[(dept, month, *key)][1] += y
    return (
        {k: v for k, v in months.items()},
        {k: v for k, v in strata.items() if any(v)},
        {k: v for k, v in cells.items() if any(v)},
    )


def _stored(session) -> tuple[dict, dict, dict]:
    session.flush()
    session.expire_all()
    months = {
        (r.department_id, r.month): [r.drawn, r.entered, r.published]
        for r in session.scalars(select(StatMonth))
    }
    strata = {
        (r.department_id, r.month, r.stratum): [r.population, r.visits, r.problems]
        for r in session.scalars(select(StatStratum))
        if r.population or r.visits or r.problems
    }
    cells = {
        (r.department_id, r.month, r.dimension, r.stratum, r.key): [r.visits, r.problems]
        for r in session.scalars(select(StatCell))
        if r.visits or r.problems
    }
    # A month row may stay behind, empty, where a redraw moved the figures away.
    months = {k: v for k, v in months.items() if any(v) or k in _expected(session)[0]}
    return months, strata, cells


def _years(cells: dict) -> dict:
    """The month cells summed per department and year."""
    found: dict = defaultdict(lambda: [0, 0])
    for (dept, month, *rest), (visits, problems) in cells.items():
        row = found[(dept, month.year, *rest)]
        row[0] += visits
        row[1] += problems
    return {k: v for k, v in found.items() if any(v)}


def _stored_years(session) -> dict:
    return {
        (r.department_id, r.year, r.dimension, r.stratum, r.key): [r.visits, r.problems]
        for r in session.scalars(select(StatCellYear))
        if r.visits or r.problems
    }


def _assert_equal(session):
    expected = _expected(session)
    stored = _stored(session)
    for name, want, got in zip(("months", "strata", "cells"), expected, stored, strict=True):
        assert got == want, name
    assert _stored_years(session) == _years(expected[2]), "years"


@pytest.mark.parametrize("seed", [1, 2])
def test_aggregates_equal_the_records_through_draws_corrections_and_redraws(session, world, seed):
    history = History(session, world, seed)
    rng = history.rng
    for i, moment in enumerate(MOMENTS):
        history.draw(moment, "a" if i % 2 == 0 else "b")
        _assert_equal(session)
    history.draw(MOMENTS[2], "a")
    for index in range(len(history.draws)):
        history.work(index, _assert_equal)
        _assert_equal(session)
    # A redraw in a later month: the old draw's results leave their month, the new draw counts
    # in its own; then its results come in.
    index = rng.randrange(len(history.draws))
    history.redraw(index, MOMENTS[3] + dt.timedelta(days=40))
    _assert_equal(session)
    history.work(index, _assert_equal)
    _assert_equal(session)

    before = _stored(session)
    assert any(v[2] for v in before[0].values())  # some results were published
    for _ in range(2):  # rebuild gives the same rows, twice
        tallies.rebuild(session)
        assert _stored(session) == before
        assert _stored_years(session) == _years(before[2])


def test_a_result_of_a_replaced_draw_does_not_count(session, world):
    history = History(session, world, 5)
    draw = history.draw(MOMENTS[2], "a")
    position = session.scalar(select(DrawEntity.position).where(DrawEntity.draw_id == draw.id))
    history.enter(draw, "a", position, ["6"])
    history.redraw(0, MOMENTS[2] + dt.timedelta(days=1))
    _assert_equal(session)
    # The old draw's waiting record may still be reviewed: published, it still does not count.
    history.review(draw, position, "approve")
    record = session.scalar(select(InspectionRecord).where(InspectionRecord.draw_id == draw.id))
    assert record.status == RecordStatus.PUBLISHED
    _assert_equal(session)


def test_publications_in_two_months_of_one_year_at_once_both_count(scratch_url):
    """Real, separately committed transactions: two reviewers publish results of the same
    department's draws of February and March at once. Both rewrite the department's year rows;
    the second waits for the first (the year's advisory lock on PostgreSQL, the write lock on
    SQLite) instead of colliding with its rows, and the aggregates equal the records."""
    import threading

    from alembic import command

    from shuangsuiji.cli.db import alembic_config
    from shuangsuiji.db import Database, User, make_engine
    from shuangsuiji.db.states import Role
    from shuangsuiji.services.results import results

    from ... import factories
    from ...concurrency import wait_for_lock_waiters

    command.upgrade(alembic_config(scratch_url), "head")
    engine = make_engine(scratch_url)
    db = Database(engine)
    with db.transaction() as session:
        factories.bind(session)
        province = factories.DepartmentFactory(code="PROV", level="province")
        world = {"sysadmin": factories.UserFactory(username="root", role=Role.SYSADMIN)}
        for key in "ab":
            world[key] = factories.DepartmentFactory(code=f"DEPT-{key.upper()}", parent=province)
            world[f"admin_{key}"] = factories.UserFactory(
                username=f"admin_{key}", role=Role.DEPT_ADMIN, department=world[key]
            )
        history = History(session, world, 9)
        work = []
        for moment in (MOMENTS[2], MOMENTS[3]):
            draw = history.draw(moment, "a")
            history.enter(draw, "a", 0, ["6"])
            work.append(draw.id)
        root = world["sysadmin"].id
    factories.bind(None)

    outcomes: dict[int, str] = {}
    held = threading.Event()  # the first publication is made, not yet committed
    arriving = threading.Event()  # the second reviewer is about to publish

    def publish(draw_id: int, first: bool) -> None:
        try:
            if not first:
                held.wait(30)
                arriving.set()
            with db.transaction() as session:
                results.review(
                    session,
                    actor=session.get(User, root),
                    draw_id=draw_id,
                    position=0,
                    decision="approve",
                    comment="",
                )
                if first:
                    held.set()
                    arriving.wait(30)
                    if engine.dialect.name == "postgresql":
                        wait_for_lock_waiters(engine)  # the second waits for the year
            outcomes[draw_id] = "published"
        except Exception as exc:  # shown by the assertion below, not lost in the thread
            outcomes[draw_id] = repr(exc)

    threads = [
        threading.Thread(target=publish, args=(draw_id, i == 0)) for i, draw_id in enumerate(work)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes == dict.fromkeys(work, "published")
    with db.transaction() as session:
        _assert_equal(session)
        assert sum(v[2] for v in _stored(session)[0].values()) == 2
    engine.dispose()
