"""Statistics (统计分析): completion and publication rates, results by code, department, region
and month, and the estimated problem rate of the registry per industry and per region, for one
year or several, over a department and the departments below it (roll-up, drill-down).

Everything is read from the per department × month aggregates (db/statistics.py, kept by
services/plans/tallies.py): a year's report reads 12 months of rows per department, whatever
the length of the history. Scope: the live draws (no redraw replaced them) made in the years
(Beijing time) of the departments the user may see. Definitions, as bureaus report them:

- 抽查计划完成率 = entities whose result is entered (submitted for review or published)
  ÷ entities drawn;
- 检查结果公示率 = entities whose result is published ÷ entities whose result is entered;
- a visit "found a problem" when any matter's result is 发现问题待后续处理 (A, with its
  sub-codes), 发现问题经责令已改正 (E) or 不配合检查情节严重 (8); 未发现问题, 未发现开展
  本次抽查涉及的经营活动, 已关闭停业 and 注销/吊销/撤销/迁出 are not problems;
- the problem-rate estimate weights each published visit by its credit-risk class of its
  department (N / n over the period), as domain/estimate.py explains, so that classes drawn at
  higher ratios do not inflate the rate of the registry as a whole.

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
from ...db import Department, Dimension, StatCellYear, StatMonth, StatStratum, User
from ...domain import estimate
from ...domain.result_codes import BY_CODE, ORDER
from ..accounts import departments
from ..scope import visible

MAX_YEARS = 10  # a multi-year report spans at most this many years


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

    def add(self, other: Rates) -> None:
        self.drawn += other.drawn
        self.entered += other.entered
        self.published += other.published


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
class Level:
    """One row of the drill-down: a department with (rolled) or without (own) those below."""

    department_id: int
    label: str
    rates: Rates
    results: Tally
    below: int  # departments below it (0: nothing to drill into)
    own: bool = False  # the chosen department's own figures (本级)


@dataclass
class Report:
    year: int
    to_year: int
    total: Rates
    department: Department | None = None  # the department rolled up (None: all visible)
    path: list[Department] = field(default_factory=list)  # its visible ancestors, top first
    levels: list[Level] = field(default_factory=list)  # drill-down rows
    by_department: list[Rates] = field(default_factory=list)
    by_code: list[tuple[str, str, int]] = field(default_factory=list)  # code, label, visits
    by_region: list[Tally] = field(default_factory=list)
    by_month: list[Tally] = field(default_factory=list)
    by_department_results: list[Tally] = field(default_factory=list)
    by_industry: list[estimate.Estimate] = field(default_factory=list)
    by_region_estimate: list[estimate.Estimate] = field(default_factory=list)

    @property
    def span(self) -> str:
        return str(self.year) if self.year == self.to_year else f"{self.year}–{self.to_year}"


@functools.lru_cache(maxsize=1)
def _section_labels() -> dict[str, str]:
    table = refdata.industries()
    return {i.code: f"{i.code} {i.name}" for i in table.values() if i.level == "section"}


def industry_label(key: str) -> str:
    """The 门类 of a stored section key as "C 制造业"."""
    if not key:
        return "未填行业"
    return _section_labels().get(key, f"{key}（未知行业）")


def region_label(code: str) -> str:
    if not code:
        return "未填区划"
    return f"{code} {refdata.region_name(code) or ''}".strip()


# -- reading the aggregates --------------------------------------------------------------------


@dataclass
class _Rows:
    months: dict[int, Rates]
    strata: dict[tuple[int, str], tuple[int, int, int]]  # (dept, class) → N, n, problems
    cells: dict[str, list]  # dimension → (dept, class, key, visits, problems) rows


def _read(session: Session, ids: list[int], first: dt.date, end: dt.date) -> _Rows:
    """The aggregates of these departments over the whole years [first, end), summed per
    department: the months' counts and classes, the years' cells."""

    def where(model):
        return (model.department_id.in_(ids), model.month >= first, model.month < end)

    months = {
        dept: Rates("", int(d or 0), int(e or 0), int(p or 0))
        for dept, d, e, p in session.execute(
            select(
                StatMonth.department_id,
                func.sum(StatMonth.drawn),
                func.sum(StatMonth.entered),
                func.sum(StatMonth.published),
            )
            .where(*where(StatMonth))
            .group_by(StatMonth.department_id)
        )
    }
    strata = {
        (dept, klass): (int(big_n or 0), int(n or 0), int(x or 0))
        for dept, klass, big_n, n, x in session.execute(
            select(
                StatStratum.department_id,
                StatStratum.stratum,
                func.max(StatStratum.population),
                func.sum(StatStratum.visits),
                func.sum(StatStratum.problems),
            )
            .where(*where(StatStratum))
            .group_by(StatStratum.department_id, StatStratum.stratum)
        )
    }
    cells: dict[str, list] = defaultdict(list)  # dimension → (dept, class, key, visits, probl.)
    for dept, dim, klass, key, visits, problems in session.execute(
        select(
            StatCellYear.department_id,
            StatCellYear.dimension,
            StatCellYear.stratum,
            StatCellYear.key,
            func.sum(StatCellYear.visits),
            func.sum(StatCellYear.problems),
        )
        .where(
            StatCellYear.department_id.in_(ids),
            StatCellYear.year >= first.year,
            StatCellYear.year < end.year,
        )
        .group_by(
            StatCellYear.department_id,
            StatCellYear.dimension,
            StatCellYear.stratum,
            StatCellYear.key,
        )
    ):
        cells[dim].append((dept, klass, key, visits, problems))
    return _Rows(months, strata, cells)


def _estimates(rows: _Rows, dimension: str, label) -> list[estimate.Estimate]:
    """The problem rate per domain, each department's credit-risk class a stratum."""
    labels: dict[str, str] = {}
    cells: dict[tuple[int, str], dict[str, list[int]]] = defaultdict(dict)
    for dept, klass, key, visits, problems in rows.cells[dimension]:
        name = labels.get(key)
        if name is None:
            name = labels[key] = label(key)
        cell = cells[(dept, klass)].setdefault(name, [0, 0])
        cell[0] += visits
        cell[1] += problems
    return estimate.problem_rates(
        [
            estimate.Stratum(
                population=max(big_n, n),  # an entity inspected twice counts twice
                sample=n,
                cells={d: (m, x) for d, (m, x) in cells.get((dept, klass), {}).items()},
            )
            for (dept, klass), (big_n, n, _) in sorted(rows.strata.items())
            if n
        ]
    )


# -- the report ------------------------------------------------------------------------------


def departments_of(session: Session, actor: User) -> list[Department]:
    """The departments whose statistics the actor may read, by region and code."""
    return list(
        session.scalars(
            select(Department)
            .where(visible(actor, Department.id))
            .order_by(Department.region_code, Department.code)
        )
    )


def _scope(
    session: Session, actor: User, department_id: int | None
) -> tuple[dict[int, Department], list[int], dict[int | None, list[int]]]:
    """The visible departments, the ids the report covers and the department tree."""
    seen = {
        d.id: d for d in session.scalars(select(Department).where(visible(actor, Department.id)))
    }
    below = departments.children(session)
    if department_id is None:
        return seen, list(seen), below
    ids = [department_id, *departments.descendants(session, department_id, below=below)]
    return seen, [i for i in ids if i in seen], below


def _levels(
    report: Report, rows: _Rows, seen: dict[int, Department], below: dict, ids: list[int]
) -> list[Level]:
    """The drill-down rows: the chosen department's own figures and each department directly
    below it with its whole subtree; with none chosen, the top visible departments."""
    covered = set(ids)
    tallies = {dept: (n, x) for dept, n, x in _per_department_results(rows) if dept in covered}

    def rolled(root: int, *, own: bool = False) -> Level:
        members = [root] if own else [root, *departments.descendants(None, root, below=below)]
        members = [m for m in members if m in covered]
        rates, results = Rates(seen[root].name), Tally(seen[root].name)
        for m in members:
            rates.add(rows.months.get(m, Rates("")))
            n, x = tallies.get(m, (0, 0))
            results.visits += n
            results.problems += x
        under = [c for c in below.get(root, ()) if c in covered]
        return Level(root, seen[root].name, rates, results, 0 if own else len(under), own)

    if report.department is not None:
        chosen = report.department.id
        children = [c for c in below.get(chosen, ()) if c in covered]
        if not children:
            return []
        return [rolled(chosen, own=True), *(rolled(c) for c in children)]
    tops = [i for i in ids if seen[i].parent_id not in covered]
    return [rolled(t) for t in sorted(tops, key=lambda i: (seen[i].region_code, seen[i].code))]


def _per_department_results(rows: _Rows) -> list[tuple[int, int, int]]:
    found: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (dept, _), (_, n, x) in rows.strata.items():
        found[dept][0] += n
        found[dept][1] += x
    return [(dept, n, x) for dept, (n, x) in found.items()]


def report(
    session: Session,
    actor: User,
    *,
    year: int,
    to_year: int | None = None,
    department_id: int | None = None,
) -> Report:
    """The statistics of the years `year`..`to_year` (Beijing time) over the departments the
    actor may see, or over one department and every visible department below it."""
    to_year = year if to_year is None else to_year
    seen, ids, below = _scope(session, actor, department_id)
    rows = _read(session, ids, dt.date(year, 1, 1), dt.date(to_year + 1, 1, 1))
    chosen = seen.get(department_id) if department_id is not None else None
    rep = Report(year=year, to_year=to_year, total=Rates("合计"), department=chosen)
    if chosen is not None:
        parent = chosen.parent_id
        while parent in seen:
            rep.path.insert(0, seen[parent])
            parent = seen[parent].parent_id
    for dept, rates in rows.months.items():
        rates.label = seen[dept].name
        rep.total.add(rates)
    rep.by_department = sorted(
        (r for r in rows.months.values() if r.drawn or r.entered), key=lambda r: r.label
    )
    rep.levels = _levels(rep, rows, seen, below, ids)
    codes: Counter = Counter()
    for _, _, key, visits, _ in rows.cells[Dimension.CODE]:
        codes[key] += visits
    regions: dict[str, Tally] = {}
    months: dict[str, Tally] = {}
    for dimension, table, label in (
        (Dimension.CHECKED, months, str),
        (Dimension.REGION, regions, region_label),
    ):
        for _, _, key, visits, problems in rows.cells[dimension]:
            tally = table.setdefault(label(key), Tally(label(key)))
            tally.visits += visits
            tally.problems += problems
    rep.by_code = [
        (c, BY_CODE[c].label, codes[c]) for c in sorted(codes, key=ORDER.get) if codes[c]
    ]
    rep.by_region = sorted(regions.values(), key=lambda t: t.label)
    rep.by_month = sorted(months.values(), key=lambda t: t.label)
    rep.by_department_results = sorted(
        (Tally(seen[dept].name, n, x) for dept, n, x in _per_department_results(rows) if n),
        key=lambda t: t.label,
    )
    rep.by_industry = _estimates(rows, Dimension.INDUSTRY, industry_label)
    rep.by_region_estimate = _estimates(rows, Dimension.REGION, region_label)
    return rep


# -- tables for export -------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def method_note(e: estimate.Estimate) -> str:
    """The method, its assumptions and why there is no interval, in a few words."""
    if e.exact:
        return "各信用风险分类全部检查（普查），比例即为实数"
    if e.sufficient:
        return "按信用风险分类加权（分层 Hájek），Wilson 区间；假设类内随机抽取、未公示者随机缺失"
    if e.inspected < estimate.MIN_INSPECTED:
        return f"样本不足：已公示 {e.inspected} 户，少于 {estimate.MIN_INSPECTED} 户，不给出区间"
    if e.strata_without_variance:
        return "样本不足：有信用风险分类仅 1 户已公示，无法估计其方差，不给出区间"
    return f"样本不足：有效样本量低于 {estimate.MIN_EFFECTIVE:g}，不给出区间"


def interval(e: estimate.Estimate) -> tuple[str, str]:
    """The interval's bounds as shown, or 样本不足."""
    if not e.sufficient:
        return "样本不足", "样本不足"
    return _pct(e.low), _pct(e.high)


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
                *interval(e),
                round(e.population),
                round(e.problem_count),
                round(e.effective, 1),
                method_note(e),
            ]
            for e in found
        ]

    estimate_headers = [
        "已公示户数",
        "发现问题户数",
        "估计问题率",
        "95%区间下限",
        "95%区间上限",
        "估计主体数",
        "估计问题主体数",
        "有效样本量",
        "方法与假设",
    ]
    level_rows = [
        [
            ("本级：" if lv.own else "") + lv.label,
            lv.rates.drawn,
            lv.rates.entered,
            lv.rates.published,
            _pct(lv.rates.completion),
            _pct(lv.rates.publication),
            lv.results.visits,
            lv.results.problems,
            _pct(lv.results.share),
        ]
        for lv in rep.levels
    ]
    rate_headers = ["抽中户数", "已录入户数", "已公示户数", "抽查计划完成率", "检查结果公示率"]
    return {
        "rates": ("完成率与公示率", ["部门", *rate_headers], rates_rows),
        "levels": ("逐级汇总", ["部门（含下级）", *rate_headers, *tally_headers], level_rows),
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
            ["国民经济行业门类", *estimate_headers],
            estimate_rows(rep.by_industry),
        ),
        "region_estimates": (
            "按区划估计",
            ["行政区划", *estimate_headers],
            estimate_rows(rep.by_region_estimate),
        ),
    }
