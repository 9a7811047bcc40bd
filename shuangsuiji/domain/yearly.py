"""The yearly split of a recurring plan: how many each batch draws per class. Pure.

The plan's ratios are yearly. Per class, the year's target is the SRDP-1 quota (§4: ratio or
count, rounding, k_min, k_max) of the class's in-scope entities, and each batch draws
⌈(target − drawn by the plan's earlier batches) ÷ batches remaining⌉, this batch included. The
last batch draws exactly what is still missing, so the year's total meets the target whenever
the registry holds enough eligible entities.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .bundle import StratumRule
from .srdp import quota


def targets(
    strata: Mapping[str, Mapping[str, Any]], population: Mapping[str, int], rounding: str
) -> dict[str, int]:
    """Per class, how many the whole year must draw: the quota of its in-scope count.
    `strata`: the plan's rules as stored (code → {"ratio" | "count", "k_min", "k_max"})."""
    found = {}
    for code, rule in sorted(strata.items()):
        parsed = StratumRule(
            code, rule.get("ratio"), rule.get("count"), rule.get("k_min"), rule.get("k_max")
        )
        found[code] = quota(population.get(code, 0), parsed, rounding)
    return found


def batch_counts(
    year_targets: Mapping[str, int], drawn: Mapping[str, int], remaining: int
) -> dict[str, int]:
    """⌈(target − drawn so far) ÷ batches remaining⌉ per class (remaining ≥ 1, this one too)."""
    if remaining < 1:
        raise ValueError("remaining must be ≥ 1")
    return {
        code: -(-max(0, target - drawn.get(code, 0)) // remaining)
        for code, target in year_targets.items()
    }
