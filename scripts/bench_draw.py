#!/usr/bin/env python
"""Bench the SRDP-1 draw engine on a synthetic bundle.

  .venv/bin/python scripts/bench_draw.py [--entities 1000000] [--inspectors 500] [--cap 100]

Defaults: 1,000,000 entities in 4 strata (20,000 drawn), 500 inspectors in 10 regions with
cap 100, two "*" slots, the 异地 (different-region) rule and 10,000 exclusions. `--cap 80`
makes the total cap equal to the demand, so phase 2 has work to do. Prints the figures and
writes them to bench-results/draw.txt.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shuangsuiji.domain import srdp  # noqa: E402
from shuangsuiji.domain.bundle import (  # noqa: E402
    Entity,
    Exclusion,
    Inspector,
    Plan,
    RandomnessSource,
    StratumRule,
    build_bundle,
    parse_bundle,
    sha256sums,
    snapshot,
)
from shuangsuiji.domain.verify import verify  # noqa: E402

# (stratum, share of entities, ratio): 1M entities give 4,000 + 6,000 + 6,000 + 4,000 drawn.
STRATA = [("A", 0.4, "0.01"), ("B", 0.3, "0.02"), ("C", 0.2, "0.03"), ("D", 0.1, "0.04")]
REGIONS = [f"1310{n:02d}" for n in range(10)]


def synthetic(n_entities: int, n_inspectors: int, cap: int, n_exclusions: int):
    rng = random.Random(20260101)
    bounds = []
    total = 0.0
    for code, share, _ in STRATA:
        total += share
        bounds.append((total, code))
    entities = []
    for n in range(n_entities):
        x = rng.random()
        stratum = next(code for bound, code in bounds if x < bound)
        entities.append(Entity(f"91131{n:013d}", stratum, rng.choice(REGIONS)))
    inspectors = [
        Inspector(f"ZF{n:06d}", "SAMR", REGIONS[n % len(REGIONS)], cap) for n in range(n_inspectors)
    ]
    exclusions = [
        Exclusion(rng.choice(entities).entity_id, rng.choice(inspectors).inspector_id, "PREVIOUS")
        for _ in range(n_exclusions)
    ]
    plan = Plan(
        plan_id="BENCH-001",
        strata=tuple(StratumRule(code, ratio=ratio) for code, _, ratio in STRATA),
        rounding="ceil",
        slots=("*", "*"),
        region_rule="different",
        selection="uniform",
        randomness=(RandomnessSource("dice", "digits", min_len=20),),
    )
    return entities, inspectors, exclusions, plan


def timed(figures: list[tuple[str, float]], label: str, fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    figures.append((label, time.perf_counter() - start))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--inspectors", type=int, default=500)
    parser.add_argument("--cap", type=int, default=100)
    parser.add_argument("--exclusions", type=int, default=10_000)
    args = parser.parse_args()

    figures: list[tuple[str, float]] = []
    records = timed(
        figures,
        "synthetic records",
        synthetic,
        args.entities,
        args.inspectors,
        args.cap,
        args.exclusions,
    )
    files = timed(figures, "build bundle (canonical bytes)", build_bundle, *records)
    bundle = timed(figures, "parse bundle", parse_bundle, files)
    sums = timed(figures, "sha256sums", sha256sums, files)
    values = srdp.canonical_randomness(
        bundle.plan, [srdp.RandomnessValue("dice", "31415926535897932384")]
    )
    text = srdp.seed_text(bundle.plan.plan_id, snapshot(sums), values)
    seed = srdp.seed_of(text)
    quotas = timed(figures, "quotas", srdp.quotas, bundle.plan, bundle.entities)
    sample = timed(figures, "sample", srdp.sample, bundle.entities, quotas, seed)
    assignment = timed(figures, "assignment", srdp.assign, bundle, sample, seed)
    result = srdp.Draw(bundle, sums, snapshot(sums), values, text, seed, quotas, sample, assignment)
    manifest = timed(
        figures,
        "manifest + hashes",
        srdp.manifest,
        result,
        committed_at=datetime(2026, 1, 1, tzinfo=UTC),
        software={"name": "shuangsuiji", "version": "bench"},
    )
    problems = timed(figures, "verify (full re-run)", verify, files, manifest)

    phase2 = sum(r.phase == 2 for r in assignment.rows)
    lines = [
        f"SRDP-1 draw bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs",
        f"entities {len(bundle.entities):,}, strata {len(quotas)}, drawn {len(sample.drawn):,}, "
        f"inspectors {len(bundle.inspectors)} (cap {args.cap}), slots {len(bundle.plan.slots)}, "
        f"exclusions {len(bundle.exclusions):,}",
        f"staffed {len(assignment.rows):,}, phase 2 {phase2:,}, "
        f"unstaffed {len(assignment.unstaffed):,}, verify problems {len(problems)}",
        "",
        *(f"{label:<32}{seconds:8.2f} s" for label, seconds in figures),
        "",
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "draw.txt").write_text(text)


if __name__ == "__main__":
    main()
