"""Statistics: rates, the result distribution, estimates; scoped to the user's departments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from shuangsuiji.db.states import Role
from shuangsuiji.services.results import statistics

from ... import draw_world, factories, results_world
from ...history_world import History


def _first_matter(codes):
    return {"codes": codes, "methods": ["field"], "measures": ["feedback"]}


def test_rates_codes_and_estimates_follow_the_published_results(session, world):
    w = results_world.drawn(session, world)
    matters = {str(w["matters"][0].id): _first_matter(["6"])}
    first = results_world.enter(
        session, w, world["admin_a"], matters=matters, approve_as=world["sysadmin"]
    )
    results_world.enter(session, w, world["admin_a"], position=first + 1)  # not yet published
    year = w["draw"].created_at.year
    report = statistics.report(session, world["admin_a"], year=year)
    drawn = report.total.drawn
    assert drawn > 2 and (report.total.entered, report.total.published) == (2, 1)
    assert report.total.completion == 2 / drawn and report.total.publication == 0.5
    assert [code for code, _, _ in report.by_code] == ["1", "A", "2", "6"]  # both matters
    assert {code: n for code, _, n in report.by_code}["6"] == 1
    (industry,) = report.by_industry
    assert industry.domain == "未填行业" and (industry.inspected, industry.problems) == (1, 1)
    assert report.by_month[0].label == w["checked_on"].strftime("%Y-%m")
    (dept,) = report.by_department_results
    assert (dept.label, dept.visits, dept.problems) == (world["a"].name, 1, 1)
    title, headers, rows = statistics.tables(report)["rates"]
    assert rows[-1][:4] == ["合计", drawn, 2, 1]

    other = statistics.report(session, world["admin_b"], year=year)
    assert other.total.drawn == 0 and other.by_code == []
    assert statistics.report(session, world["admin_a"], year=year + 1).total.drawn == 0


# -- from the aggregates: honest populations, roll-up, cost ---------------------------------------

MARCH = dt.datetime(2026, 3, 5, 3, 0, tzinfo=dt.UTC)


def _history(session, world, seed=11):
    history = History(session, world, seed)
    for registry in history.registries.values():
        for entity in registry["entities"]:
            entity.industry_code = "1311"  # all 制造业
    session.flush()
    return history


def test_several_draws_of_a_year_never_estimate_more_firms_than_the_registry(session, world):
    """Monthly draws of one registry: the old per-draw strata added each draw's N, so the
    estimated 制造业 firms (and problem firms) grew with the number of draws; per class over the
    year they stay within the registry."""
    history = _history(session, world)
    for k in range(4):
        history.draw(MARCH + dt.timedelta(days=30 * k), "a")
        history.work(k)
    rep = statistics.report(session, world["sysadmin"], year=2026, department_id=world["a"].id)
    (industry,) = rep.by_industry
    registry = len(history.registries["a"]["entities"])
    drawn_from = sum(  # every class at its largest over the year: the registry as drawn
        max(s.N for d, _ in history.draws for s in d.summary_doc.strata if s.code == code)
        for code in {s.code for d, _ in history.draws for s in d.summary_doc.strata}
    )
    assert industry.domain == "C 制造业" and industry.inspected > 10
    assert industry.problem_count <= industry.population <= drawn_from <= registry
    per_draw = sum(d.summary_doc.eligible for d, _ in history.draws)
    assert per_draw > 3 * registry / 2  # what the per-draw sum would have claimed


def _county(session, world, history):
    with factories.bound(session):
        county = factories.DepartmentFactory(code="CTY-A1", parent=world["a"], level="county")
        world["c"] = county
        world["admin_c"] = factories.UserFactory(
            username="admin_c", role=Role.DEPT_ADMIN, department=county
        )
    history.registries["c"] = draw_world.populate(session, county, seed=3, cert_prefix="15")
    return county


def test_a_department_rolls_up_the_departments_below_it_level_by_level(session, world):
    history = _history(session, world)
    county = _county(session, world, history)
    for i, key in enumerate(("a", "b", "c")):
        history.draw(MARCH, key)
        history.work(i)
    root = world["sysadmin"]
    own = {
        key: statistics.report(session, root, year=2026, department_id=world[key].id)
        for key in ("b", "c")
    }
    city = statistics.report(session, root, year=2026, department_id=world["a"].id)
    [a_row] = [r for r in city.by_department if r.label == world["a"].name]
    assert city.total.drawn == a_row.drawn + own["c"].total.drawn
    assert city.total.published == a_row.published + own["c"].total.published
    assert [(lv.label, lv.own, lv.below) for lv in city.levels] == [
        (world["a"].name, True, 0),
        (county.name, False, 0),
    ]
    assert city.levels[1].rates.drawn == own["c"].total.drawn
    province = statistics.report(session, root, year=2026, department_id=world["province"].id)
    rows = {lv.label: lv for lv in province.levels}
    assert rows[world["a"].name].below == 1 and rows[world["a"].name].rates.drawn == (
        city.total.drawn
    )
    assert rows[world["b"].name].rates.drawn == own["b"].total.drawn
    assert province.total.drawn == city.total.drawn + own["b"].total.drawn
    assert [d.name for d in own["c"].path] == [world["province"].name, world["a"].name]
    everything = statistics.report(session, root, year=2026)
    assert [lv.label for lv in everything.levels] == [world["province"].name]
    assert everything.total.drawn == province.total.drawn
    # Years are summed from the months: 2025–2026 holds the same draws, 2027 none.
    both = statistics.report(session, root, year=2025, to_year=2026)
    assert both.total.drawn == province.total.drawn and both.span == "2025–2026"
    assert statistics.report(session, root, year=2027).total.drawn == 0


def _statements(session, call) -> int:
    found = []
    bind = session.connection()
    listener = lambda *args: found.append(args[2])  # noqa: E731
    event.listen(bind, "before_cursor_execute", listener)
    try:
        call()
    finally:
        event.remove(bind, "before_cursor_execute", listener)
    return len(found)


def test_the_report_reads_a_fixed_number_of_queries_whatever_the_history(session, world):
    history = _history(session, world)
    history.draw(MARCH, "a")
    history.work(0)

    def run():
        statistics.report(session, world["sysadmin"], year=2026, department_id=world["a"].id)

    session.flush()
    one = _statements(session, run)
    for k, year in enumerate((2023, 2024, 2025)):
        history.draw(MARCH.replace(year=year), "a")
        history.work(k + 1)
    session.flush()
    assert _statements(session, run) == one <= 6
