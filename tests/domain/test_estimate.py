"""The stratified problem-rate estimator: exact cases, the textbook SRS formula, coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuangsuiji.domain.estimate import MIN_INSPECTED, Stratum, problem_rates, stratum


def test_a_fully_inspected_population_is_known_exactly():
    strata = [
        stratum(3, ("C", "C", "F"), (True, False, False)),
        stratum(2, ("C", "F"), (True, True)),
    ]
    by = {e.domain: e for e in problem_rates(strata)}
    assert by["C"].rate == pytest.approx(2 / 3) and by["C"].low == by["C"].high == by["C"].rate
    assert by["C"].exact and by["C"].sufficient  # a census needs no minimum sample
    assert by["F"].rate == pytest.approx(1 / 2)
    assert (by["C"].inspected, by["C"].problems, by["C"].population) == (3, 2, 3.0)


def test_one_stratum_one_domain_is_wilson_on_the_srs_variance():
    y = (True,) * 12 + (False,) * 28
    (e,) = problem_rates([stratum(1000, ("all",) * 40, y)])
    p, n, f, z = 12 / 40, 40, 40 / 1000, 1.959963984540054
    variance = (1 - f) * p * (1 - p) * n / (n - 1) / n  # the textbook SRS variance
    m = p * (1 - p) / variance  # effective sample size
    centre = (p + z * z / (2 * m)) / (1 + z * z / m)
    half = z * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / (1 + z * z / m)
    assert e.rate == pytest.approx(p)
    assert (e.low, e.high) == (pytest.approx(centre - half), pytest.approx(centre + half))


def test_a_class_where_no_problem_was_seen_still_widens_the_interval():
    quiet = stratum(9000, ("C",) * 30, (False,) * 30)
    risky = stratum(1000, ("C",) * 100, (True,) * 40 + (False,) * 60)
    (e,) = problem_rates([quiet, risky])
    assert e.rate == pytest.approx(0.04)
    # Were the quiet class known exactly, the interval would be about ±0.5 point; its 30
    # clean inspections leave several points of doubt on 90% of the registry.
    assert e.high - e.rate > 0.02


def test_weights_undo_oversampling_of_a_risky_class():
    # Class A: 9000 entities, 1% problems, 90 inspected; class D: 1000, 50%, 300 inspected.
    a = stratum(9000, ("C",) * 90, (True,) * 1 + (False,) * 89)
    d = stratum(1000, ("C",) * 300, (True,) * 150 + (False,) * 150)
    (e,) = problem_rates([a, d])
    truth = (9000 * 0.01 + 1000 * 0.5) / 10000  # 5.9%, while the sample shows 151/390 = 39%
    assert e.rate == pytest.approx(truth, abs=0.002)
    assert e.low < truth < e.high


def test_a_stratum_with_one_inspection_is_reported_without_variance():
    (e,) = problem_rates([stratum(50, ("C",), (True,)), stratum(50, ("C",) * 20, (False,) * 20)])
    assert e.strata_without_variance == 1
    assert not e.sufficient and e.low is None and e.high is None  # no interval: 样本不足


def test_two_results_give_no_interval():
    # The shape behind "72.4%–72.4%": two classes with one published result each, weighted
    # to 72.4%; neither class can estimate a variance.
    (e,) = problem_rates([stratum(724, ("C",), (True,)), stratum(276, ("C",), (False,))])
    assert e.rate == pytest.approx(0.724)
    assert (e.inspected, e.low, e.high, e.sufficient) == (2, None, None, False)


def test_below_the_minimum_sample_there_is_no_interval_and_from_it_there_is():
    few = MIN_INSPECTED - 1
    (e,) = problem_rates([stratum(5000, ("C",) * few, (True,) * 3 + (False,) * (few - 3))])
    assert not e.sufficient
    (e,) = problem_rates([stratum(5000, ("C",) * 40, (True,) * 12 + (False,) * 28)])
    assert e.sufficient and e.low < e.rate < e.high
    assert e.effective == pytest.approx(40 / (1 - 40 / 5000) * 39 / 40, rel=1e-6)


def test_no_problem_seen_still_gives_an_upper_bound_on_the_kish_sample_size():
    (e,) = problem_rates([stratum(900, ("C",) * 30, (False,) * 30)])
    assert e.rate == 0 and e.low == 0 and 0.05 < e.high < 0.15
    assert e.effective == pytest.approx(30)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 5000),
            st.lists(st.tuples(st.sampled_from("CFGI"), st.booleans()), min_size=0, max_size=30),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_an_estimate_never_exceeds_its_population(classes):
    strata = []
    for big_n, visits in classes:
        visits = visits[:big_n]
        strata.append(stratum(big_n, [d for d, _ in visits], [y for _, y in visits]))
    registry = sum(s.population for s in strata if s.sample)
    found = problem_rates(strata)
    assert sum(e.population for e in found) == pytest.approx(registry)
    for e in found:
        assert 0 <= e.problem_count <= e.population <= registry + 1e-9
        assert 0.0 <= e.rate <= 1.0
        if e.sufficient:
            assert 0.0 <= e.low <= e.rate <= e.high <= 1.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        problem_rates([stratum(1, ("C", "C"), (True, False))])
    with pytest.raises(ValueError):
        problem_rates([stratum(5, ("C",), (True, False))])
    with pytest.raises(ValueError):
        problem_rates([Stratum(50, 3, {"C": (4, 1)})])
    assert problem_rates([stratum(10, (), ())]) == []


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
                stratum(sizes[cls], tuple(ind[pick].tolist()), tuple(bool(v) for v in y[pick]))
            )
        for e in problem_rates(strata):
            covered[e.domain] += e.low <= truth[e.domain] <= e.high
    for name in industries:
        assert 0.90 <= covered[name] / runs <= 0.995, (name, covered[name] / runs)


@pytest.mark.parametrize("per_class", [3, 10, 25, 60, 150])
def test_the_interval_covers_across_sample_sizes_or_says_the_sample_is_too_small(per_class):
    """Seeded simulation: a registry of four classes and three industries, each class sampled
    `per_class` times (without replacement) 300 times. Where an interval is given it covers the
    true rate at least 90% of the time (nominal 95%); from 25 a class up it is given in most
    runs; with 3 a class (12 results in all) mostly 样本不足."""
    rng = np.random.default_rng(1000 + per_class)
    sizes = {"A": 6500, "B": 2500, "C": 800, "D": 200}
    base = {"A": 0.05, "B": 0.10, "C": 0.25, "D": 0.45}
    industries = np.array(["C", "F", "G"])
    population = {}
    for cls, size in sizes.items():
        ind = industries[rng.integers(0, 3, size)]
        population[cls] = (ind, rng.random(size) < base[cls] + np.where(ind == "G", 0.05, 0.0))
    truth = {
        name: sum(int(y[ind == name].sum()) for ind, y in population.values())
        / sum(int((ind == name).sum()) for ind, _ in population.values())
        for name in industries
    }
    given_, covered, asked = 0, 0, 0
    for _ in range(300):
        strata = []
        for cls, (ind, y) in population.items():
            pick = rng.choice(len(ind), per_class, replace=False)
            strata.append(stratum(sizes[cls], ind[pick].tolist(), y[pick].tolist()))
        for e in problem_rates(strata):
            asked += 1
            if e.sufficient:
                given_ += 1
                covered += e.low <= truth[e.domain] <= e.high
    if per_class >= 25:
        assert given_ / asked > 0.8
        assert covered / given_ >= 0.90, covered / given_
    elif per_class >= 10:
        assert given_ and covered / given_ >= 0.90, covered / given_
    else:
        assert given_ / asked < 0.2
        assert not given_ or covered / given_ >= 0.85
