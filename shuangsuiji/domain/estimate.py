"""Estimating a registry's problem rate from its stratified draws (分层抽样估计).

The strata are the credit-risk classes (per department): N_h entities of class h on the
registry, n_h of them inspected with a published result over the period (a year: every draw of
the year together). Each inspected entity stands for w_h = N_h / n_h entities, the inverse of its
inclusion probability n_h / N_h. The assumptions, which the statistics page states beside each
row:

- within a class the period's inspected entities are a simple random sample without
  replacement of the class (each draw samples at random within the class; an entity inspected
  twice in the period counts twice, rare under the annual caps);
- a drawn entity whose result is not (yet) published is missing at random within its class;
- N_h is the class as the draws saw it (the largest count of the class among the period's
  draws); a class nobody inspected is left out, so the rate is that of the inspected classes.

For a domain d (an industry, a region) the problem rate is the Hájek ratio

    p̂_d = Σ_h w_h x_hd  /  Σ_h w_h m_hd,    N̂_d = Σ_h w_h m_hd

with m_hd the inspected entities of class h in d and x_hd those with a problem. N̂_d estimates
the domain's number of entities; since m_hd ≤ n_h it never exceeds Σ_h N_h, the registry, and
the estimated number of problem entities p̂_d N̂_d never exceeds N̂_d. Its variance is
estimated by linearisation for stratified simple random sampling without replacement:

    z_i = 1{i ∈ d} (y_i − p̂_d) / N̂_d
    V̂(p̂_d) = Σ_h N_h² (1 − n_h / N_h) s²_h(z) / n_h

where s²_h(z) is the sample variance of z over all n_h inspected entities of class h (those
outside d have z = 0); it needs only (n_h, m_hd, x_hd), which is what the statistics store. A
class where the domain's m inspected entities all had no problem (or all had one) adds no
y-variance to that sum, though its rate is far from known; so each class adds at least its
post-stratified term Ŵ²(1 − n_h/N_h) p̃(1 − p̃)/m, with the cell's rate shrunk to
p̃ = (x + ½)/(m + 1) and Ŵ the class's estimated share of the domain. The interval is Wilson's
score interval on the effective sample size n* = p̂(1 − p̂) / V̂ (Kish's design effect; Korn &
Graubard 1998), which stays inside [0, 1]; when p̂ is 0 or 1, n* is Kish's weight-based
(Σw)² / Σw². Problem rates are small and the low-risk classes carry large weights, so a Wald
interval p̂ ± z √V̂ covers badly (about 80% for a nominal 95%); this one covers 92–99% in the
simulations of tests/domain/test_estimate.py, from 10 inspected entities a class up.

No interval is given (`sufficient` False, 样本不足) when the domain has fewer than
MIN_INSPECTED inspected entities, or an effective sample size under MIN_EFFECTIVE, or a class
with a single inspected entity that is not the whole class (it cannot estimate its variance):
two results do not make a "72.4%–72.4%" interval. A domain whose classes were all inspected
in full (a census) is known exactly.

Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054
MIN_INSPECTED = 10
MIN_EFFECTIVE = 8.0


@dataclass(frozen=True)
class Stratum:
    """One class: N on the registry, n inspected, and per domain (inspected, with a problem)."""

    population: int
    sample: int
    cells: Mapping[str, tuple[int, int]]


def stratum(population: int, domains: Sequence[str], problems: Sequence[bool]) -> Stratum:
    """A class from its inspected entities, one domain and one y each."""
    if len(domains) != len(problems):
        raise ValueError("domains and problems differ in length")
    cells: dict[str, list[int]] = {}
    for domain, problem in zip(domains, problems, strict=True):
        cell = cells.setdefault(domain, [0, 0])
        cell[0] += 1
        cell[1] += bool(problem)
    return Stratum(population, len(domains), {k: (m, x) for k, (m, x) in cells.items()})


@dataclass(frozen=True)
class Estimate:
    """The problem rate of one domain; the interval only when the sample suffices."""

    domain: str
    inspected: int  # inspected entities of the domain (all classes)
    problems: int  # of which with a problem
    rate: float  # p̂_d
    low: float | None  # None: 样本不足
    high: float | None
    population: float  # N̂_d, the estimated number of registry entities in the domain
    effective: float  # the effective sample size n* the interval uses
    exact: bool  # every class of the domain inspected in full: the rate is known
    strata_without_variance: int  # classes with one inspected entity (no variance term)

    @property
    def sufficient(self) -> bool:
        return self.low is not None

    @property
    def problem_count(self) -> float:
        """The estimated number of registry entities of the domain with a problem."""
        return self.rate * self.population


def _check(used: list[Stratum]) -> None:
    for s in used:
        inspected = sum(m for m, _ in s.cells.values())
        if inspected > s.sample or any(x > m or x < 0 for m, x in s.cells.values()):
            raise ValueError("a class's cells hold more than it inspected")
        if s.sample > s.population:
            raise ValueError("more inspected entities than the stratum holds")


def problem_rates(strata: list[Stratum], *, z: float = Z95) -> list[Estimate]:
    """p̂_d and its interval for every domain seen in the sample, in domain order. Classes with
    no inspected entity are ignored (they carry no information)."""
    used = [s for s in strata if s.sample]
    _check(used)
    # Per domain: Σw·m, Σw·x, Σw²·m, inspected, problems, all classes a census. Plain floats:
    # a report holds a few thousand cells, where numpy's per-element cost would dominate.
    sums: dict[str, list] = {}
    for s in used:
        w = s.population / s.sample
        full = s.sample >= s.population
        for name, (m, x) in s.cells.items():
            if m:
                row = sums.setdefault(name, [0.0, 0.0, 0.0, 0, 0, True])
                row[0] += w * m
                row[1] += w * x
                row[2] += w * w * m
                row[3] += m
                row[4] += x
                row[5] = row[5] and full
    rate = {name: row[1] / row[0] for name, row in sums.items()}
    variance = dict.fromkeys(sums, 0.0)
    single = dict.fromkeys(sums, 0)
    for s in used:
        n, big_n = s.sample, s.population
        fpc = 1.0 - n / big_n
        for name, (m, x) in s.cells.items():
            if not m:
                continue
            if n < 2:
                single[name] += fpc > 0
                continue
            p, scale = rate[name], sums[name][0]
            total = (x - m * p) / scale
            squares = (x * (1 - p) ** 2 + (m - x) * p * p) / (scale * scale)
            linear = big_n * big_n * fpc * (squares - total * total / n) / (n - 1) / n
            # The class as a post-stratum of the domain, its rate shrunk towards 1/2: a cell
            # where no problem (or only problems) was seen still has a sampling variance.
            shrunk = (x + 0.5) / (m + 1.0)
            share = (big_n * m / n) / scale
            cell = share * share * fpc * shrunk * (1.0 - shrunk) / m
            variance[name] += max(linear, cell)
    return [
        _estimate(name, sums[name], rate[name], variance[name], single[name], z)
        for name in sorted(sums)
    ]


def _estimate(name: str, row: list, p: float, v: float, single: int, z: float) -> Estimate:
    total_w, _, total_w2, inspected, problems, census = row
    effective = p * (1.0 - p) / v if v > 0.0 and 0.0 < p < 1.0 else total_w * total_w / total_w2
    if census:
        low = high = p
        effective = float(inspected)
    elif inspected < MIN_INSPECTED or effective < MIN_EFFECTIVE or single:
        low = high = None
    else:
        low, high = _wilson(p, effective, z)
    return Estimate(
        domain=name,
        inspected=inspected,
        problems=problems,
        rate=p,
        low=low,
        high=high,
        population=total_w,
        effective=effective,
        exact=census,
        strata_without_variance=single,
    )


def _wilson(p: float, n_eff: float, z: float) -> tuple[float, float]:
    """Wilson's score interval for p on the effective sample size."""
    z2 = z * z
    denom = 1.0 + z2 / n_eff
    centre = (p + z2 / (2.0 * n_eff)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n_eff + z2 / (4.0 * n_eff * n_eff)) / denom
    # Around p itself whatever the rounding (p = 0 must not get a lower bound of 1e-17).
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))
