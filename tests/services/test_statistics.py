"""Statistics: rates, the result distribution, estimates; scoped to the user's departments."""

from __future__ import annotations

from shuangsuiji.services import results, statistics

from .. import results_world


def _publish(session, world, w, codes, position=None, **extra):
    position = w["row"].drawn.position if position is None else position
    results.save(
        session,
        actor=world["admin_a"],
        draw_id=w["draw"].id,
        position=position,
        raw=results_world.entry(
            w["matters"],
            checked_on=w["checked_on"],
            matters={
                str(w["matters"][0].id): {
                    "codes": codes,
                    "methods": ["field"],
                    "measures": ["feedback"] if codes != ["1"] else ["none"],
                }
            },
        ),
        today=w["today"],
    )
    results.submit(session, actor=world["admin_a"], draw_id=w["draw"].id, position=position)
    return position


def test_rates_codes_and_estimates_follow_the_published_results(session, world):
    w = results_world.drawn(session, world)
    first = _publish(session, world, w, ["6"])
    results.review(
        session,
        actor=world["sysadmin"],
        draw_id=w["draw"].id,
        position=first,
        decision="approve",
        comment="",
    )
    _publish(session, world, w, ["1"], position=first + 1)  # entered, not yet published
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
    title, headers, rows = statistics.tables(report)["rates"]
    assert rows[-1][:4] == ["合计", drawn, 2, 1]

    other = statistics.report(session, world["admin_b"], year=year)
    assert other.total.drawn == 0 and other.by_code == []
    assert statistics.report(session, world["admin_a"], year=year + 1).total.drawn == 0
