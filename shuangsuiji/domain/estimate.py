"""Estimating a population's problem rate from stratified draws (分层抽样估计).

A draw samples each stratum h (a credit-risk class of one draw) without replacement: N_h
entities on the registry, n_h of them inspected with a result. Each inspected entity stands for
w_h = N_h / n_h entities (the inverse of its inclusion probability n_h / N_h, counting only the
entities whose result is in: non-response is assumed to be at random within the stratum).

For a domain d (an industry, a region) the problem rate is the Hájek ratio

    p̂_d = Σ_h w_h Σ_{i ∈ s_h ∩ d} y_i  /  Σ_h w_h |s_h ∩ d|

with y_i = 1 when the visit found a problem. Its variance is estimated by linearisation for
stratified simple random sampling without replacement:

    z_i = 1{i ∈ d} (y_i − p̂_d) / N̂_d,    N̂_d = Σ_h w_h |s_h ∩ d|
    V̂(p̂_d) = Σ_h N_h² (1 − n_h / N_h) s²_h(z) / n_h

where s²_h(z) is the sample variance of z over all n_h inspected entities of stratum h (those
outside d have z = 0). A stratum where the domain's m inspected entities all had no problem
(or all had one) adds no y-variance to that sum, though its rate is far from known; so each
stratum adds at least its post-stratified term Ŵ²(1 − n_h/N_h) p̃(1 − p̃)/m, with the cell's
rate shrunk to p̃ = (x + ½)/(m + 1) and Ŵ the stratum's estimated share of the domain.
Problem rates are small and the low-risk classes carry large weights, so
p̂_d ± z √V̂ (Wald) covers badly (about 80% for a nominal 95% in our simulation). The interval
is Wilson's score interval on the effective sample size n* = p̂(1 − p̂) / V̂ (Kish's design
effect; Korn & Graubard 1998), which stays inside [0, 1]; with the floor above it covered
94–99% in the same simulation (tests/domain/test_estimate.py): on the safe side. A stratum
with a single inspected entity contributes no variance term (it cannot estimate one), which the
result reports. Several draws (monthly batches) are combined by treating each (draw, class) as
its own stratum, which is right when the draws sample disjoint parts of the registry, as
batches of one plan do once drawn entities are excluded by the annual cap.

Pure: numpy only, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Stratum:
    """One stratum of one draw: N on the registry; per inspected entity its domain and y."""

    n_population: int
    domains: tuple[str, ...]  # the domain of each inspected entity
    problems: tuple[bool, ...]  # whether the visit found a problem, same order


@dataclass(frozen=True)
class Estimate:
    """The problem rate of one domain with its confidence interval."""

    domain: str
    inspected: int  # inspected entities of the domain (all strata)
    problems: int  # of which with a problem
    rate: float  # p̂_d
    low: float
    high: float
    population: float  # N̂_d, the estimated number of registry entities in the domain
    strata_without_variance: int  # strata with one inspected entity (no variance term)


def problem_rates(strata: list[Stratum], *, z: float = Z95) -> list[Estimate]:
    """p̂_d and its interval for every domain seen in the sample, in domain order.

    Strata with no inspected entity are ignored (they carry no information); n_h ≤ N_h is
    required.
    """
    used = [s for s in strata if s.domains]
    for s in used:
        if len(s.domains) != len(s.problems):
            raise ValueError("domains and problems differ in length")
        if len(s.domains) > s.n_population:
            raise ValueError("more inspected entities than the stratum holds")
    names = sorted({d for s in used for d in s.domains})
    if not names:
        return []
    index = {name: k for k, name in enumerate(names)}
    # Per stratum: weights, domain index and y as arrays; domain totals accumulate over strata.
    prepared = []
    total_w = np.zeros(len(names))
    total_wy = np.zeros(len(names))
    count = np.zeros(len(names), dtype=np.int64)
    hits = np.zeros(len(names), dtype=np.int64)
    for s in used:
        n = len(s.domains)
        w = s.n_population / n
        dom = np.fromiter((index[d] for d in s.domains), dtype=np.int64, count=n)
        y = np.fromiter(s.problems, dtype=np.float64, count=n)
        np.add.at(total_w, dom, w)
        np.add.at(total_wy, dom, w * y)
        np.add.at(count, dom, 1)
        np.add.at(hits, dom, y.astype(np.int64))
        prepared.append((s.n_population, n, dom, y))
    rate = total_wy / total_w
    variance = np.zeros(len(names))
    single = np.zeros(len(names), dtype=np.int64)
    for big_n, n, dom, y in prepared:
        present = np.unique(dom)
        if n < 2:
            single[present] += 1
            continue
        fpc = 1.0 - n / big_n
        for k in present:
            inside = dom == k
            zk = np.where(inside, (y - rate[k]) / total_w[k], 0.0)
            linear = big_n * big_n * fpc * zk.var(ddof=1) / n
            # The same stratum as a post-stratum of the domain, with the cell's rate shrunk
            # towards 1/2 (x + 1/2) / (m + 1): a cell where no problem (or only problems) was
            # seen still has a sampling variance, which the linearised term misses.
            m = int(inside.sum())
            shrunk = (float(y[inside].sum()) + 0.5) / (m + 1.0)
            share = (big_n * m / n) / total_w[k]
            cell = share * share * fpc * shrunk * (1.0 - shrunk) / m
            variance[k] += max(linear, cell)
    out = []
    for name, k in index.items():
        low, high = _wilson(float(rate[k]), float(variance[k]), int(count[k]), z)
        out.append(
            Estimate(
                domain=name,
                inspected=int(count[k]),
                problems=int(hits[k]),
                rate=float(rate[k]),
                low=low,
                high=high,
                population=float(total_w[k]),
                strata_without_variance=int(single[k]),
            )
        )
    return out


def _wilson(p: float, variance: float, n: int, z: float) -> tuple[float, float]:
    """Wilson's interval for p on the effective sample size (n itself when p is 0 or 1 or the
    variance is not estimable). With no variance at all (a census) the interval is p."""
    if variance <= 0.0 and 0.0 < p < 1.0:
        return p, p
    n_eff = p * (1.0 - p) / variance if variance > 0.0 and 0.0 < p < 1.0 else float(n)
    z2 = z * z
    denom = 1.0 + z2 / n_eff
    centre = (p + z2 / (2.0 * n_eff)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n_eff + z2 / (4.0 * n_eff * n_eff)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
