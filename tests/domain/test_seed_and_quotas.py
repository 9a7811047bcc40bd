"""Randomness canonicalisation, the seed (§3), quotas (§4) and the capacity pre-check."""

import hashlib

import pytest

from shuangsuiji.domain.bundle import Inspector, Plan, RandomnessSource, StratumRule
from shuangsuiji.domain.srdp import (
    Quota,
    RandomnessError,
    RandomnessValue,
    Shortfall,
    canonical_randomness,
    canonical_value,
    capacity_shortfalls,
    quota,
    seed_of,
    seed_text,
    server_commitment,
)

DICE = RandomnessSource("dice", "digits", min_len=20)
TEXT = RandomnessSource("lottery", "text")
SECRET = "0123456789abcdef" * 4
SERVER = RandomnessSource("srv", "server", extra=(("sha256", server_commitment(SECRET)),))


def plan(*sources, slots=("*", "*")):
    return Plan("P1", (StratumRule("A", ratio="0.5"),), "ceil", slots, "none", "uniform", sources)


def test_dice_digits_lose_their_separators():
    assert canonical_value(DICE, " 31415 92653\n58979 32384 ") == "31415926535897932384"


@pytest.mark.parametrize("value", ["3141592653589793238", "31415-92653-58979-32384", "٣" * 20])
def test_dice_digits_must_be_enough_plain_digits(value):
    with pytest.raises(RandomnessError, match="dice"):
        canonical_value(DICE, value)


def test_text_is_trimmed_printable_ascii():
    assert canonical_value(TEXT, "  3D 2026001: 4 1 7 \n") == "3D 2026001: 4 1 7"
    for bad in ("", "   ", "a\tb", "福彩3D"):
        with pytest.raises(RandomnessError):
            canonical_value(TEXT, bad)


def test_server_value_is_lowercased_and_checked_against_its_commitment():
    assert canonical_value(SERVER, SECRET.upper()) == SECRET
    with pytest.raises(RandomnessError, match="committed sha256"):
        canonical_value(SERVER, "f" * 64)
    with pytest.raises(RandomnessError, match="64 hex"):
        canonical_value(SERVER, SECRET[:-1])


def test_canonical_randomness_follows_plan_order_and_needs_every_source():
    values = [RandomnessValue("lottery", " 123 "), RandomnessValue("dice", "1" * 20, {"w": "x"})]
    got = canonical_randomness(plan(DICE, TEXT), values)
    assert got == (RandomnessValue("dice", "1" * 20, {"w": "x"}), RandomnessValue("lottery", "123"))
    with pytest.raises(RandomnessError, match="'lottery' is missing"):
        canonical_randomness(plan(DICE, TEXT), values[1:])
    with pytest.raises(RandomnessError, match="not named by the plan"):
        canonical_randomness(plan(DICE), values)


def test_seed_text_layout_and_seed():
    values = [RandomnessValue("dice", "1" * 20), RandomnessValue("lottery", "x y")]
    text = seed_text("P1", "ab" * 32, values)
    assert text == (
        "SRDP-1 seed\nplan_id=P1\nsnapshot=" + "ab" * 32 + "\n"
        "rand.dice=11111111111111111111\nrand.lottery=x y\n"
    )
    assert seed_of(text) == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    ("n", "ratio", "rounding", "k"),
    [
        (4, "0.50", "ceil", 2),
        (3, "0.34", "ceil", 2),  # 1.02 → 2: never a float, 0.34 * 3 is not 1.02 in binary
        (3, "0.34", "floor", 1),
        (3, "0.5", "half_up", 2),  # 1.5 → 2
        (5, "0.1", "half_up", 1),  # 0.5 → 1
        (5, "0.09", "half_up", 0),  # 0.45 → 0
        (100, "0.07", "ceil", 7),  # 7.000000000000001 in floating point
        (0, "0.5", "ceil", 0),
        (7, "1", "floor", 7),
        (7, "0", "ceil", 0),
    ],
)
def test_ratio_quota_is_exact(n, ratio, rounding, k):
    assert quota(n, StratumRule("A", ratio=ratio), rounding) == k


def test_k_min_and_k_max_apply_in_spec_order():
    assert quota(10, StratumRule("A", ratio="0.01", k_min=3), "floor") == 3
    assert quota(2, StratumRule("A", ratio="0.01", k_min=3), "floor") == 2  # never above N
    assert quota(100, StratumRule("A", ratio="0.5", k_max=10), "ceil") == 10
    assert quota(100, StratumRule("A", ratio="0", k_min=5, k_max=3), "ceil") == 3  # k_max last
    assert quota(4, StratumRule("A", count=12), "ceil") == 4
    assert quota(40, StratumRule("A", count=12), "ceil") == 12


def test_capacity_pre_check_names_each_short_department():
    joint = plan(DICE, slots=("SAMR", "SAMR", "TAX"))
    inspectors = [
        Inspector("I1", "SAMR", "R1", 5),
        Inspector("I2", "SAMR", "R2", 4),
        Inspector("I3", "TAX", "R1", 2),
    ]
    quotas = [Quota("A", 20, 5), Quota("B", 0, 0)]
    assert capacity_shortfalls(joint, inspectors, quotas) == (
        Shortfall("SAMR", demand=10, capacity=9),
        Shortfall("TAX", demand=5, capacity=2),
    )
    assert capacity_shortfalls(joint, inspectors, quotas)[1].missing == 3
    assert capacity_shortfalls(plan(DICE), inspectors, quotas) == ()
    assert capacity_shortfalls(plan(DICE), inspectors, [Quota("A", 20, 6)]) == (
        Shortfall("*", demand=12, capacity=11),
    )
