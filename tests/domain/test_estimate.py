"""The stratified problem-rate estimator: exact cases, the textbook SRS formula, coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shuangsuiji.domain.estimate import Stratum, problem_rates


def test_a_fully_inspected_population_is_known_exactly():
    strata = [
        Stratum(3, ("C", "C", "F"), (True, False, False)),
        Stratum(2, ("C", "F"), (True, True)),
    ]
    by = {e.domain: e for e in problem_rates(strata)}
    assert by["C"].rate == pytest.approx(2 / 3) and by["C"].low == by["C"].high == by["C"].rate
    assert by["F"].rate == pytest.approx(1 / 2)
    assert (by["C"].inspected, by["C"].problems, by["C"].population) == (3, 2, 3.0)


def test_one_stratum_one_domain_is_wilson_on_the_srs_variance():
    y = (True,) * 12 + (False,) * 28
    (e,) = problem_rates([Stratum(1000, ("all",) * 40, y)])
    p, n, f, z = 12 / 40, 40, 40 / 1000, 1.959963984540054
    variance = (1 - f) * p * (1 - p) * n / (n - 1) / n  # the textbook SRS variance
    m = p * (1 - p) / variance  # effective sample size
    centre = (p + z * z / (2 * m)) / (1 + z * z / m)
    half = z * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / (1 + z * z / m)
    assert e.rate == pytest.approx(p)
    assert (e.low, e.high) == (pytest.approx(centre - half), pytest.approx(centre + half))


def test_a_class_where_no_problem_was_seen_still_widens_the_interval():
    quiet = Stratum(9000, ("C",) * 30, (False,) * 30)
    risky = Stratum(1000, ("C",) * 100, (True,) * 40 + (False,) * 60)
    (e,) = problem_rates([quiet, risky])
    assert e.rate == pytest.approx(0.04)
    # Were the quiet class known exactly, the interval would be about ±0.5 point; its 30
    # clean inspections leave several points of doubt on 90% of the registry.
    assert e.high - e.rate > 0.02


def test_weights_undo_oversampling_of_a_risky_class():
    # Class A: 9000 entities, 1% problems, 90 inspected; class D: 1000, 50%, 300 inspected.
    a = Stratum(9000, ("C",) * 90, (True,) * 1 + (False,) * 89)
    d = Stratum(1000, ("C",) * 300, (True,) * 150 + (False,) * 150)
    (e,) = problem_rates([a, d])
    truth = (9000 * 0.01 + 1000 * 0.5) / 10000  # 5.9%, while the sample shows 151/390 = 39%
    assert e.rate == pytest.approx(truth, abs=0.002)
    assert e.low < truth < e.high


def test_a_stratum_with_one_inspection_is_reported_without_variance():
    (e,) = problem_rates([Stratum(50, ("C",), (True,)), Stratum(50, ("C",) * 5, (False,) * 5)])
    assert e.strata_without_variance == 1


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        problem_rates([Stratum(1, ("C", "C"), (True, False))])
    with pytest.raises(ValueError):
        problem_rates([Stratum(5, ("C",), (True, False))])
    assert problem_rates([Stratum(10, (), ())]) == []


def test_95_percent_intervals_cover_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(20261129)
    sizes = {"A": 6500, "B": 2500, "C": 800, "D": 200}
    sample = {"A": 65, "B": 125, "C": 80, "D": 60}
    base = {"A": 0.05, "B": 0.10, "C": 0.25, "D": 0.45}
    industries = np.array(["C", "F", "G"])
    population = {}
    for cls, size in sizes.items():
        ind = industries[rng.integers(0, 3, size)]
        lift = np.where(ind == "G", 0.05, 0.0)
        population[cls] = (ind, rng.random(size) < base[cls] + lift)
    truth = {}
    for name in industries:
        hit = sum(int(y[ind == name].sum()) for ind, y in population.values())
        all_ = sum(int((ind == name).sum()) for ind, _ in population.values())
        truth[name] = hit / all_
    covered, runs = {name: 0 for name in industries}, 400
    for _ in range(runs):
        strata = []
        for cls, (ind, y) in population.items():
            pick = rng.choice(len(ind), sample[cls], replace=False)
            strata.append(
                Stratum(sizes[cls], tuple(ind[pick].tolist()), tuple(bool(v) for v in y[pick]))
            )
        for e in problem_rates(strata):
            covered[e.domain] += e.low <= truth[e.domain] <= e.high
    for name in industries:
        assert 0.90 <= covered[name] / runs <= 0.995, (name, covered[name] / runs)
