"""The yearly split of a recurring plan (shuangsuiji/domain/yearly.py)."""

from __future__ import annotations

import pytest

from shuangsuiji.domain import yearly


@pytest.mark.parametrize("target", [0, 1, 5, 11, 12, 13, 40, 97, 1000])
def test_the_batches_of_a_year_add_up_to_the_yearly_target(target):
    drawn = 0
    sizes = []
    for remaining in range(12, 0, -1):
        size = yearly.batch_counts({"B": target}, {"B": drawn}, remaining)["B"]
        sizes.append(size)
        drawn += size
    assert drawn == target
    assert max(sizes) - min(sizes) <= 1 or target < 12  # spread evenly, not all at the end


def test_a_shortfall_of_an_earlier_batch_is_made_up_later():
    assert yearly.batch_counts({"C": 24}, {"C": 0}, 12) == {"C": 2}
    assert yearly.batch_counts({"C": 24}, {"C": 2}, 10) == {"C": 3}  # one batch drew nothing
    assert yearly.batch_counts({"C": 24}, {"C": 30}, 3) == {"C": 0}


def test_no_batch_is_left_to_draw_in():
    with pytest.raises(ValueError):
        yearly.batch_counts({"C": 24}, {}, 0)


def test_the_years_targets_are_the_quotas_of_the_in_scope_counts():
    strata = {
        "A": {"ratio": "0.05"},
        "B": {"ratio": "0.4", "k_max": 3},
        "C": {"count": 7},
        "D": {"ratio": "0.01", "k_min": 2},
    }
    population = {"A": 101, "B": 50, "C": 4, "D": 10}
    assert yearly.targets(strata, population, "ceil") == {"A": 6, "B": 3, "C": 4, "D": 2}
    assert yearly.targets(strata, population, "floor")["A"] == 5
    assert yearly.targets({"X": {"ratio": "0.5"}}, {}, "ceil") == {"X": 0}
