"""统计汇总: keeping the per department × month statistics (db/statistics.py) in step.

What the statistics count, per department (the plan's) and Beijing month of the draw, over the
live draws only (a redraw takes its predecessor out):

- drawn: the entities drawn; per credit-risk class its population N (the largest count of the
  class among the month's draws: the registry as the draws saw it);
- entered: records 待审核 or 已公示; published: records 已公示;
- per published visit: each result code found in any matter, the check month, and, per class,
  the entity's region and industry section, each with whether the visit found a problem.

Who changes them: a draw (draws.execute: the new draw's month and, for a redraw, its
predecessor's are recomputed from the records) and the results' workflow (results.submit,
results.review: the record's contribution before and after is subtracted and added). Both run in
the caller's transaction. Every writer takes the department-year's lock and the month's
`stat_months` row first (an upsert locks it), so a recomputation reads what the concurrent
writers committed before it and a delta that commits after it lands on top; the year rows
(`stat_cell_years`) are summed afresh from the months under the year's lock. `rebuild`
recomputes everything from the records.

A visit's region and industry are the entity's at publication; `rebuild` takes the registry's
current ones.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, literal, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ... import refdata
from ...db import (
    Dimension,
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
from ...db.documents import DrawSummary
from ...db.states import RecordStatus
from ...domain.result_codes import BY_CODE
from . import eligibility

BEIJING = dt.timezone(dt.timedelta(hours=8))
ENTERED = (RecordStatus.SUBMITTED, RecordStatus.PUBLISHED)
_CHUNK = 500


# -- what counts as a problem, where a visit belongs -------------------------------------------


def _problem_codes() -> frozenset[str]:
    """A (发现问题待后续处理, with its sub-codes), E (发现问题经责令已改正) and 8
    (不配合检查情节严重)."""
    found = {"A", "E", "8"}
    for code, entry in BY_CODE.items():
        parent = entry.parent
        while parent is not None:
            if parent == "A":
                found.add(code)
            parent = BY_CODE[parent].parent
    return frozenset(found)


PROBLEM = _problem_codes()


def is_problem(codes: Iterable[str]) -> bool:
    return not PROBLEM.isdisjoint(codes)


def month_of(moment: dt.datetime) -> dt.date:
    """The first day of the moment's Beijing month."""
    local = moment.astimezone(BEIJING)
    return dt.date(local.year, local.month, 1)


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_start(month: dt.date) -> dt.datetime:
    return dt.datetime(month.year, month.month, 1, tzinfo=BEIJING)


@functools.lru_cache(maxsize=1)
def _section_of() -> dict[str, str]:
    """2-digit divisions and section letters → their section letter (门类)."""
    table = refdata.industries()
    found = {i.code: i.code for i in table.values() if i.level == "section"}
    for i in table.values():
        if i.level == "division":
            found[i.code] = i.parent
    return found


def section_key(code: str | None) -> str:
    """The 门类 letter of a GB/T 4754 code at any level; "" when none; the code itself when
    unknown (the report names it so)."""
    if not code:
        return ""
    return _section_of().get(code if code.isalpha() else code[:2], code)


# -- figures: the rows of some months, as numbers ---------------------------------------------


@dataclass
class Figures:
    """The statistics rows of some department-months: [drawn, entered, published] per month,
    [population, visits, problems] per class, [visits, problems] per cell."""

    months: dict[tuple, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    strata: dict[tuple, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    cells: dict[tuple, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))


@dataclass(frozen=True)
class Visit:
    """What one record adds to its department-month."""

    department_id: int
    month: dt.date
    status: str
    stratum: str
    region: str
    industry: str  # section key
    checked: str  # "YYYY-MM" or ""
    codes: frozenset[str]


def add_draw(figures: Figures, department_id: int, month: dt.date, summary: DrawSummary) -> None:
    figures.months[(department_id, month)][0] += summary.drawn
    for s in summary.strata:
        row = figures.strata[(department_id, month, s.code)]
        row[0] = max(row[0], s.N)


def add_visit(figures: Figures, visit: Visit, sign: int = 1) -> None:
    """The visit's contribution, added (sign 1) or taken away (sign −1)."""
    if visit.status not in ENTERED:
        return
    place = (visit.department_id, visit.month)
    row = figures.months[place]
    row[1] += sign
    if visit.status != RecordStatus.PUBLISHED:
        return
    row[2] += sign
    problem = sign * is_problem(visit.codes)
    stratum = figures.strata[(*place, visit.stratum)]
    stratum[1] += sign
    stratum[2] += problem
    for code in visit.codes:
        figures.cells[(*place, Dimension.CODE, "", code)][0] += sign
    for dimension, klass, key in (
        (Dimension.CHECKED, "", visit.checked),
        (Dimension.REGION, visit.stratum, visit.region),
        (Dimension.INDUSTRY, visit.stratum, visit.industry),
    ):
        cell = figures.cells[(*place, dimension, klass, key)]
        cell[0] += sign
        cell[1] += problem


# -- reading the records ------------------------------------------------------------------------


def _live_draws(session: Session, where: list) -> list[tuple[int, int, dt.date, DrawSummary]]:
    rows = session.execute(
        select(Draw.id, Plan.department_id, Draw.created_at, Draw.summary)
        .join(Plan, Plan.id == Draw.plan_id)
        .where(Draw.id.in_(eligibility.live_draws()), *where)
        .order_by(Draw.id)
    )
    return [(i, dept, month_of(at), DrawSummary.parse(doc)) for i, dept, at, doc in rows]


def _visits(session: Session, draws: dict[int, tuple[int, dt.date]]) -> list[Visit]:
    """The entered records of these draws (id → department, month) as visits."""
    ids = list(draws)
    codes: dict[int, set[str]] = defaultdict(set)
    rows = []
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        rows += session.execute(
            select(
                InspectionRecord.id,
                InspectionRecord.draw_id,
                InspectionRecord.status,
                InspectionRecord.checked_on,
                DrawEntity.stratum,
                Entity.region_code,
                Entity.industry_code,
            )
            .join(
                DrawEntity,
                (DrawEntity.draw_id == InspectionRecord.draw_id)
                & (DrawEntity.position == InspectionRecord.position),
            )
            .join(Entity, Entity.id == InspectionRecord.entity_id)
            .where(
                InspectionRecord.draw_id.in_(chunk),
                InspectionRecord.status.in_(ENTERED),
            )
        ).all()
        for record_id, joined in session.execute(
            select(InspectionResult.record_id, InspectionResult.codes)
            .join(InspectionRecord, InspectionRecord.id == InspectionResult.record_id)
            .where(
                InspectionRecord.draw_id.in_(chunk),
                InspectionRecord.status == RecordStatus.PUBLISHED,
            )
        ):
            codes[record_id].update(c for c in joined.split(",") if c)
    return [
        Visit(
            department_id=draws[draw_id][0],
            month=draws[draw_id][1],
            status=status,
            stratum=stratum,
            region=region or "",
            industry=section_key(industry),
            checked=checked.strftime("%Y-%m") if checked else "",
            codes=frozenset(codes.get(record_id, ())),
        )
        for record_id, draw_id, status, checked, stratum, region, industry in rows
    ]


def compute(session: Session, places: Iterable[tuple[int, dt.date]] | None = None) -> Figures:
    """The figures of these department-months (all of them when None), from the records."""
    figures = Figures()
    if places is None:
        found = _live_draws(session, [])
    else:
        found = []
        for department_id, month in sorted(set(places)):
            figures.months[(department_id, month)]  # noqa: B018 (the month's row, even empty)
            found += _live_draws(
                session,
                [
                    Plan.department_id == department_id,
                    Draw.created_at >= month_start(month),
                    Draw.created_at < month_start(next_month(month)),
                ],
            )
    for _, department_id, month, summary in found:
        add_draw(figures, department_id, month, summary)
    for visit in _visits(session, {i: (dept, month) for i, dept, month, _ in found}):
        add_visit(figures, visit)
    return figures


# -- writing ------------------------------------------------------------------------------------


def _insert(session: Session):
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


# pg_advisory_xact_lock(namespace, department id × 10000 + year): a department's year.
_PG_LOCK_NAMESPACE = 520262


def _lock(session: Session, places: Iterable[tuple[int, dt.date]]) -> None:
    """The statistics' lock: on PostgreSQL each department-year's advisory lock (its year rows
    are summed afresh from all its months), then the months' rows (made when missing), each in
    key order. SQLite has one writer at a time anyway."""
    places = sorted(set(places))
    if session.get_bind().dialect.name == "postgresql":
        for department_id, year in sorted({(d, m.year) for d, m in places}):
            session.execute(
                text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                {"ns": _PG_LOCK_NAMESPACE, "key": department_id * 10000 + year},
            )
    insert = _insert(session)
    for department_id, month in places:
        statement = insert(StatMonth).values(
            department_id=department_id, month=month, drawn=0, entered=0, published=0
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["department_id", "month"],
                set_={StatMonth.drawn.key: StatMonth.drawn},
            )
        )


# Each table: its model, key columns, number columns, and the Figures attribute holding it.
_MONTH_COUNTS = (StatMonth.drawn.key, StatMonth.entered.key, StatMonth.published.key)
_TABLES = (
    (StatMonth, ("department_id", "month"), _MONTH_COUNTS, "months"),
    (
        StatStratum,
        ("department_id", "month", "stratum"),
        ("population", "visits", "problems"),
        "strata",
    ),
    (
        StatCell,
        ("department_id", "month", "dimension", "stratum", "key"),
        ("visits", "problems"),
        "cells",
    ),
)


def _rows(figures: Figures, keys: tuple, names: tuple, attr: str, *, empty: bool) -> list[dict]:
    return [
        dict(zip(keys + names, key + tuple(values), strict=True))
        for key, values in sorted(getattr(figures, attr).items())
        if empty or any(values)
    ]


def _add(session: Session, figures: Figures) -> None:
    """Add the figures' numbers to the stored rows (made when missing)."""
    insert = _insert(session)
    for model, keys, names, attr in _TABLES:
        for row in _rows(figures, keys, names, attr, empty=False):
            statement = insert(model).values(row)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=list(keys),
                    set_={n: getattr(model, n) + getattr(statement.excluded, n) for n in names},
                )
            )


def _replace(session: Session, figures: Figures, places: set[tuple[int, dt.date]] | None) -> None:
    """Replace the rows of these department-months (all when None) by the figures'."""
    for model, *_ in reversed(_TABLES):
        query = delete(model)
        if places is not None:
            query = query.where(tuple_(model.department_id, model.month).in_(sorted(places)))
        session.execute(query)
    for model, keys, names, attr in _TABLES:
        # A month's row stays even when empty: it is the months' lock.
        values = _rows(figures, keys, names, attr, empty=model is StatMonth)
        for i in range(0, len(values), 1000):
            session.execute(model.__table__.insert(), values[i : i + 1000])


def _years(session: Session, years: Iterable[tuple[int, int]]) -> None:
    """The year rows of these (department, year) pairs summed afresh from their months'."""
    for department_id, year in sorted(set(years)):
        session.execute(
            delete(StatCellYear).where(
                StatCellYear.department_id == department_id, StatCellYear.year == year
            )
        )
        columns = (StatCell.department_id, StatCell.dimension, StatCell.stratum, StatCell.key)
        summed = (
            select(
                StatCell.department_id,
                literal(year),
                StatCell.dimension,
                StatCell.stratum,
                StatCell.key,
                func.sum(StatCell.visits),
                func.sum(StatCell.problems),
            )
            .where(
                StatCell.department_id == department_id,
                StatCell.month >= dt.date(year, 1, 1),
                StatCell.month < dt.date(year + 1, 1, 1),
            )
            .group_by(*columns)
        )
        names = ("department_id", "year", "dimension", "stratum", "key", "visits", "problems")
        session.execute(insert(StatCellYear).from_select(names, summed))


def recompute(session: Session, places: Iterable[tuple[int, dt.date]]) -> None:
    """Recompute these department-months from the records, replacing their rows."""
    wanted = set(places)
    if not wanted:
        return
    _lock(session, wanted)
    _replace(session, compute(session, wanted), wanted)
    _years(session, {(dept, month.year) for dept, month in wanted})


def rebuild(session: Session) -> int:
    """Recompute every department-month from the records (a deployment's first fill, or a
    repair); idempotent. Returns the number of department-months. On PostgreSQL the tables are
    locked against concurrent changes until the caller commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "LOCK TABLE stat_months, stat_strata, stat_cells, stat_cell_years IN EXCLUSIVE MODE"
            )
        )
    figures = compute(session)
    _replace(session, figures, None)
    session.execute(delete(StatCellYear))
    _years(session, {(dept, month.year) for dept, month in figures.months})
    return len(figures.months)


# -- the hooks ----------------------------------------------------------------------------------


def draw_made(session: Session, draw: Draw, previous: Draw | None) -> None:
    """A draw was stored (flushed): its month and a superseded draw's month are recomputed."""
    department_id = session.scalar(select(Plan.department_id).where(Plan.id == draw.plan_id))
    places = {(department_id, month_of(draw.created_at))}
    if previous is not None:
        places.add((department_id, month_of(previous.created_at)))
    recompute(session, places)


def _visit_of(session: Session, record: InspectionRecord) -> Visit | None:
    """The record as a visit (its current status, codes, class, region, industry); None when
    its draw is not live."""
    draw = session.get(Draw, record.draw_id)
    if session.scalar(select(Draw.id).where(Draw.supersedes_id == draw.id)) is not None:
        return None
    stratum = session.scalar(
        select(DrawEntity.stratum).where(
            DrawEntity.draw_id == record.draw_id, DrawEntity.position == record.position
        )
    )
    region, industry = session.execute(
        select(Entity.region_code, Entity.industry_code).where(Entity.id == record.entity_id)
    ).one()
    codes = session.scalars(
        select(InspectionResult.codes).where(InspectionResult.record_id == record.id)
    )
    return Visit(
        department_id=record.department_id,
        month=month_of(draw.created_at),
        status=record.status,
        stratum=stratum,
        region=region or "",
        industry=section_key(industry),
        checked=record.checked_on.strftime("%Y-%m") if record.checked_on else "",
        codes=frozenset(c for joined in codes for c in joined.split(",") if c),
    )


def record_changed(session: Session, record: InspectionRecord, before: str) -> None:
    """A record's status moved from `before` to its current one (flushed): its contribution
    before is taken away and its contribution now added."""
    if before == record.status or (before not in ENTERED and record.status not in ENTERED):
        return
    now = _visit_of(session, record)
    if now is None:
        return
    figures = Figures()
    add_visit(figures, Visit(**{**now.__dict__, "status": before}), -1)
    add_visit(figures, now, 1)
    _lock(session, {(now.department_id, now.month)})
    _add(session, figures)
    if RecordStatus.PUBLISHED in (before, record.status):  # the cells changed
        _years(session, {(now.department_id, now.month.year)})
