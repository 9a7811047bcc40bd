"""Statistics: rates, the result distribution, estimates; scoped to the user's departments."""

from __future__ import annotations

from shuangsuiji.services.results import statistics

from ... import results_world


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
