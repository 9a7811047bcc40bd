"""Statistics (统计分析): completion and publication rates, results by code, department, region
and month, and the estimated problem rate of the registry per industry and per region.

Scope: the live draws (no redraw replaced them) made in one calendar year (Beijing time) of the
plans the user may see. Definitions, as bureaus report them:

- 抽查计划完成率 = entities whose result is entered (submitted for review or published)
  ÷ entities drawn;
- 检查结果公示率 = entities whose result is published ÷ entities whose result is entered;
- a visit "found a problem" when any matter's result is 发现问题待后续处理 (A, with its
  sub-codes), 发现问题经责令已改正 (E) or 不配合检查情节严重 (8); 未发现问题, 未发现开展
  本次抽查涉及的经营活动, 已关闭停业 and 注销/吊销/撤销/迁出 are not problems;
- the problem-rate estimate weights each published visit by its stratum (draw × credit-risk
  class) as domain/estimate.py explains, so that classes drawn at higher ratios do not inflate
  the rate of the registry as a whole.

Counts and rates are for the department's own use: the credit-risk class never leaves it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import refdata
from ...db import (
    Department,
    Draw,
    DrawEntity,
    Entity,
    InspectionRecord,
    InspectionResult,
    Plan,
    User,
)
from ...db.states import RecordStatus
from ...domain import estimate
from ...domain.result_codes import BY_CODE, ORDER
from ..plans import eligibility
from ..scope import visible


def _is_problem(codes: set[str]) -> bool:
    return bool(codes & _PROBLEM)


def _problem_codes() -> frozenset[str]:
    """A, E and 8, and every code under A."""
    found = {"A", "E", "8"}
    for code, entry in BY_CODE.items():
        parent = entry.parent
        while parent is not None:
            if parent == "A":
                found.add(code)
            parent = BY_CODE[parent].parent
    return frozenset(found)


_PROBLEM = _problem_codes()
BEIJING = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Rates:
    """Drawn, entered and published entities, and the two rates (None when undefined)."""

    label: str
    drawn: int = 0
    entered: int = 0
    published: int = 0

    @property
    def completion(self) -> float | None:
        return self.entered / self.drawn if self.drawn else None

    @property
    def publication(self) -> float | None:
        return self.published / self.entered if self.entered else None


@dataclass
class Tally:
    """Published visits in one group, and how many of them found a problem."""

    label: str
    visits: int = 0
    problems: int = 0

    @property
    def share(self) -> float | None:
        return self.problems / self.visits if self.visits else None


@dataclass
class Report:
    year: int
    total: Rates
    by_department: list[Rates] = field(default_factory=list)
    by_code: list[tuple[str, str, int]] = field(default_factory=list)  # code, label, visits
    by_region: list[Tally] = field(default_factory=list)
    by_month: list[Tally] = field(default_factory=list)
    by_department_results: list[Tally] = field(default_factory=list)
    by_industry: list[estimate.Estimate] = field(default_factory=list)
    by_region_estimate: list[estimate.Estimate] = field(default_factory=list)


def _year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(year, 1, 1, tzinfo=BEIJING)
    return start, start.replace(year=year + 1)


def _draws(session: Session, actor: User, year: int, department_id: int | None) -> list[Draw]:
    start, end = _year_bounds(year)
    query = (
        select(Draw)
        .join(Plan, Plan.id == Draw.plan_id)
        .where(
            visible(actor, Plan.department_id),
            Draw.id.in_(eligibility.live_draws()),
            Draw.created_at >= start,
            Draw.created_at < end,
        )
        .order_by(Draw.id)
    )
    if department_id is not None:
        query = query.where(Plan.department_id == department_id)
    return list(session.scalars(query))


@functools.lru_cache(maxsize=1)
def _sections() -> dict[str, str]:
    """Section letters and 2-digit divisions → their 门类 as "C 制造业"."""
    table = refdata.industries()
    label = {i.code: f"{i.code} {i.name}" for i in table.values() if i.level == "section"}
    found = dict(label)
    for i in table.values():
        if i.level == "division":
            found[i.code] = label[i.parent]
    return found


def _industry_section(code: str | None) -> str:
    """门类 of a GB/T 4754 code at any level."""
    if not code:
        return "未填行业"
    return _sections().get(code if code.isalpha() else code[:2], f"{code}（未知行业）")


def _county(code: str | None) -> str:
    if not code:
        return "未填区划"
    return f"{code} {refdata.region_name(code) or ''}".strip()


def report(session: Session, actor: User, *, year: int, department_id: int | None = None) -> Report:
    """The year's statistics over the plans the actor may see (optionally one department)."""
    draws = _draws(session, actor, year, department_id)
    ids = [d.id for d in draws]
    plan_department = {
        plan_id: dept
        for plan_id, dept in session.execute(
            select(Plan.id, Plan.department_id).where(Plan.id.in_({d.plan_id for d in draws}))
        )
    }
    names = {i: name for i, name in session.execute(select(Department.id, Department.name))}
    rates: dict[int, Rates] = {}
    for draw in draws:
        dept = plan_department[draw.plan_id]
        rates.setdefault(dept, Rates(names[dept])).drawn += draw.summary_doc.drawn
    statuses = session.execute(
        select(InspectionRecord.department_id, InspectionRecord.status, func.count())
        .where(InspectionRecord.draw_id.in_(ids))
        .group_by(InspectionRecord.department_id, InspectionRecord.status)
    )
    for dept, status, n in statuses:
        row = rates.setdefault(dept, Rates(names[dept]))
        if status in (RecordStatus.SUBMITTED, RecordStatus.PUBLISHED):
            row.entered += n
        if status == RecordStatus.PUBLISHED:
            row.published += n
    total = Rates("合计")
    for row in rates.values():
        total.drawn += row.drawn
        total.entered += row.entered
        total.published += row.published

    visits = _published_visits(session, ids)
    codes: Counter = Counter()
    regions: dict[str, Tally] = {}
    months: dict[str, Tally] = {}
    by_dept: dict[str, Tally] = {}
    draw_department = {d.id: names[plan_department[d.plan_id]] for d in draws}
    for visit in visits.values():
        codes.update(visit["codes"])
        problem = _is_problem(visit["codes"])
        for key, table in (
            (_county(visit["region"]), regions),
            (visit["month"], months),
            (draw_department[visit["draw_id"]], by_dept),
        ):
            tally = table.setdefault(key, Tally(key))
            tally.visits += 1
            tally.problems += problem
    return Report(
        year=year,
        total=total,
        by_department=sorted(rates.values(), key=lambda r: r.label),
        by_code=[(c, BY_CODE[c].label, codes[c]) for c in sorted(codes, key=ORDER.get)],
        by_region=sorted(regions.values(), key=lambda t: t.label),
        by_month=sorted(months.values(), key=lambda t: t.label),
        by_department_results=sorted(by_dept.values(), key=lambda t: t.label),
        by_industry=_estimates(draws, visits, lambda v: _industry_section(v["industry"])),
        by_region_estimate=_estimates(draws, visits, lambda v: _county(v["region"])),
    )


def _published_visits(session: Session, draw_ids: list[int]) -> dict[int, dict]:
    """Published records of these draws: codes of all matters, region, industry, stratum."""
    rows = session.execute(
        select(
            InspectionRecord.id,
            InspectionRecord.draw_id,
            InspectionRecord.checked_on,
            Entity.region_code,
            Entity.industry_code,
            DrawEntity.stratum,
            InspectionResult.codes,
        )
        .join(Entity, Entity.id == InspectionRecord.entity_id)
        .join(
            DrawEntity,
            (DrawEntity.draw_id == InspectionRecord.draw_id)
            & (DrawEntity.position == InspectionRecord.position),
        )
        .join(InspectionResult, InspectionResult.record_id == InspectionRecord.id)
        .where(
            InspectionRecord.draw_id.in_(draw_ids),
            InspectionRecord.status == RecordStatus.PUBLISHED,
        )
    )
    visits: dict[int, dict] = {}
    for record_id, draw_id, checked_on, region, industry, stratum, codes in rows:
        visit = visits.setdefault(
            record_id,
            {
                "draw_id": draw_id,
                "month": checked_on.strftime("%Y-%m"),
                "region": region,
                "industry": industry,
                "stratum": stratum,
                "codes": set(),
            },
        )
        visit["codes"].update(c for c in codes.split(",") if c)
    return visits


def _estimates(draws: list[Draw], visits: dict[int, dict], domain) -> list[estimate.Estimate]:
    """The problem rate per domain, each (draw, class) a stratum of the size it had."""
    cells: dict[tuple[int, str], tuple[list[str], list[bool]]] = defaultdict(lambda: ([], []))
    for visit in visits.values():
        domains, problems = cells[(visit["draw_id"], visit["stratum"])]
        domains.append(domain(visit))
        problems.append(_is_problem(visit["codes"]))
    strata = []
    for draw in draws:
        for s in draw.summary_doc.strata:
            domains, problems = cells.get((draw.id, s.code), ([], []))
            strata.append(estimate.Stratum(s.N, tuple(domains), tuple(problems)))
    return estimate.problem_rates(strata)


# -- tables for export -------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def tables(rep: Report) -> dict[str, tuple[str, list[str], list[list]]]:
    """Each table of the report as (title, headers, rows), keyed by its export name."""
    rates_rows = [
        [r.label, r.drawn, r.entered, r.published, _pct(r.completion), _pct(r.publication)]
        for r in [*rep.by_department, rep.total]
    ]
    tally_headers = ["检查结果公示户数", "发现问题户数", "问题发现率"]

    def estimate_rows(found):
        return [
            [
                e.domain,
                e.inspected,
                e.problems,
                _pct(e.rate),
                _pct(e.low),
                _pct(e.high),
                round(e.population),
            ]
            for e in found
        ]

    estimate_headers = ["已公示户数", "发现问题户数", "估计问题率", "95%区间下限", "95%区间上限"]
    return {
        "rates": (
            "完成率与公示率",
            ["部门", "抽中户数", "已录入户数", "已公示户数", "抽查计划完成率", "检查结果公示率"],
            rates_rows,
        ),
        "codes": (
            "检查结果分布",
            ["代码", "检查结果", "户数"],
            [list(row) for row in rep.by_code],
        ),
        "department_results": (
            "按部门",
            ["部门", *tally_headers],
            [[t.label, t.visits, t.problems, _pct(t.share)] for t in rep.by_department_results],
        ),
        "regions": (
            "按区划",
            ["行政区划", *tally_headers],
            [[t.label, t.visits, t.problems, _pct(t.share)] for t in rep.by_region],
        ),
        "months": (
            "按月份",
            ["月份", *tally_headers],
            [[t.label, t.visits, t.problems, _pct(t.share)] for t in rep.by_month],
        ),
        "industries": (
            "按行业估计",
            ["国民经济行业门类", *estimate_headers, "估计主体数"],
            estimate_rows(rep.by_industry),
        ),
        "region_estimates": (
            "按区划估计",
            ["行政区划", *estimate_headers, "估计主体数"],
            estimate_rows(rep.by_region_estimate),
        ),
    }
