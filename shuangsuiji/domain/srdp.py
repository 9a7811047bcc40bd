"""The SRDP-1 draw (docs/srdp-1.md §3–§7): seed, quotas, sample, assignment, replacement, manifest.

Every function here is a pure function of its arguments: no clock, no I/O, no global random
state. The randomness of a draw is the seed S, derived from committed inputs and public
randomness, and everything else follows from S by SHA-256.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import hashlib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from .bundle import (
    ANY_DEPT,
    CODE_RE,
    SPEC,
    Bundle,
    EntityTable,
    Inspector,
    Plan,
    RandomnessSource,
    SrdpError,
    StratumRule,
    parse_bundle,
    sha256sums,
    snapshot,
)

TICKET_DIGITS = 18
NO_FEASIBLE_INSPECTOR = "NO_FEASIBLE_INSPECTOR"
_ASSIGN_PREFIX = b"SRDP-1 assign\n"


class RandomnessError(SrdpError):
    """随机数错误: a randomness value that is missing, malformed or fails its commitment."""


class DrawError(SrdpError):
    """抽查错误: a request the draw cannot honour (e.g. replacing a slot nobody holds)."""


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def _no_gc():
    """Pause the cyclic garbage collector: a draw allocates millions of small acyclic objects
    (ids, tickets, rows), and each automatic collection would walk all of them again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- §3 randomness and the seed ------------------------------------------------------------


@dataclass(frozen=True)
class RandomnessValue:
    """随机数: the value a randomness source produced, with its provenance (witnesses, URL…).

    `value` is as entered; `canonical_randomness` turns it into the canonical value.
    """

    label: str
    value: str
    provenance: Mapping[str, Any] = field(default_factory=dict)


_WHITESPACE = " \t\r\n"


def canonical_value(source: RandomnessSource, value: str) -> str:
    """The canonical value of one source (SRDP-1 §3.1), or RandomnessError.

    digits: separators (whitespace) removed, then `[0-9]+` of at least `min_len` digits.
    text: trimmed, non-empty printable ASCII (no TAB or LF).
    server: 64 hex characters, lowercased; checked against the plan's `sha256` if present.
    """
    where = f"randomness {source.label!r} ({source.kind})"
    if source.kind == "digits":
        digits = "".join(value.split())
        if not digits.isascii() or not digits.isdigit():
            raise RandomnessError(f"{where}: only the digits 0-9 are allowed")
        if len(digits) < (source.min_len or 0):
            raise RandomnessError(f"{where}: {len(digits)} digits, the plan needs {source.min_len}")
        return digits
    if source.kind == "text":
        text = value.strip(_WHITESPACE)
        if not text or not all(" " <= ch <= "~" for ch in text):
            raise RandomnessError(f"{where}: must be non-empty printable ASCII")
        return text
    if source.kind == "server":
        secret = value.strip(_WHITESPACE).lower()
        if len(secret) != 64 or any(ch not in "0123456789abcdef" for ch in secret):
            raise RandomnessError(f"{where}: must be 64 hex characters")
        if source.commitment is not None and server_commitment(secret) != source.commitment:
            raise RandomnessError(f"{where}: does not match the committed sha256")
        return secret
    raise RandomnessError(f"{where}: unknown kind")


def server_commitment(secret: str) -> str:
    """hex(SHA256(secret)): published with the bundle commitment, before the secret."""
    return _hex(secret.encode("ascii"))


def canonical_randomness(
    plan: Plan, values: Iterable[RandomnessValue]
) -> tuple[RandomnessValue, ...]:
    """The plan's sources in plan order, each with its canonical value; every source needs
    exactly one value and no value may name an unknown label."""
    by_label: dict[str, RandomnessValue] = {}
    for value in values:
        if value.label in by_label:
            raise RandomnessError(f"randomness {value.label!r} given twice")
        by_label[value.label] = value
    unknown = sorted(set(by_label) - {source.label for source in plan.randomness})
    if unknown:
        raise RandomnessError(f"randomness {unknown} not named by the plan")
    result = []
    for source in plan.randomness:
        if source.label not in by_label:
            raise RandomnessError(f"randomness {source.label!r} is missing")
        given = by_label[source.label]
        canonical = canonical_value(source, given.value)
        result.append(RandomnessValue(source.label, canonical, given.provenance))
    return tuple(result)


def seed_text(plan_id: str, snapshot: str, values: Sequence[RandomnessValue]) -> str:
    """The seed text of §3; `values` canonical and in plan order. Every line ends in LF."""
    lines = ["SRDP-1 seed", f"plan_id={plan_id}", f"snapshot={snapshot}"]
    lines += [f"rand.{v.label}={v.value}" for v in values]
    return "".join(line + "\n" for line in lines)


def seed_of(text: str) -> str:
    """S = hex(SHA256(seed text)), 64 characters: the seed given to consistent_sampler."""
    return _hex(text.encode("utf-8"))


# -- §4 quotas -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    """抽查数量: a stratum's eligible count N and how many of them to draw, k."""

    code: str
    n: int
    k: int


def quota(n: int, rule: StratumRule, rounding: str) -> int:
    """k for a stratum of n entities (§4), exact integer arithmetic; 0 ≤ k ≤ n."""
    if rule.count is not None:
        k = rule.count
    else:
        ratio = Fraction(rule.ratio)  # exact: Fraction parses the decimal string itself
        p, q = ratio.numerator, ratio.denominator
        if rounding == "ceil":
            k = -(-n * p // q)
        elif rounding == "floor":
            k = n * p // q
        else:  # half_up
            k = (2 * n * p + q) // (2 * q)
    if rule.k_min is not None:
        k = max(k, min(rule.k_min, n))
    if rule.k_max is not None:
        k = min(k, rule.k_max)
    return min(max(k, 0), n)


def quotas(plan: Plan, entities: EntityTable) -> tuple[Quota, ...]:
    """One Quota per plan stratum, in ascending code order (strata without entities get 0)."""
    counts: dict[str, int] = {}
    for code in entities.strata:
        counts[code] = counts.get(code, 0) + 1
    return tuple(
        Quota(
            rule.code,
            counts.get(rule.code, 0),
            quota(counts.get(rule.code, 0), rule, plan.rounding),
        )
        for rule in plan.strata
    )


@dataclass(frozen=True)
class Shortfall:
    """人员缺口: a department (or "*", everyone) whose total cap is below its slot demand."""

    dept: str
    demand: int
    capacity: int

    @property
    def missing(self) -> int:
        return self.demand - self.capacity


def capacity_shortfalls(
    plan: Plan, inspectors: Sequence[Inspector], quotas: Sequence[Quota]
) -> tuple[Shortfall, ...]:
    """Departments whose capacity cannot possibly cover the demand (empty: the plan may go on).

    Per department d: Σ cap of its inspectors ≥ Σ_c k_c × (slots equal to d); for "*" slots
    every inspector counts. Ascending dept. Passing does not promise every slot gets staffed
    (region rule and exclusions can still bind); failing means some slot certainly cannot.
    """
    drawn = sum(q.k for q in quotas)
    shortfalls = []
    for dept in sorted(set(plan.slots)):
        demand = drawn * plan.slots.count(dept)
        capacity = sum(i.cap for i in inspectors if dept in (ANY_DEPT, i.dept))
        if capacity < demand:
            shortfalls.append(Shortfall(dept, demand, capacity))
    return tuple(shortfalls)


# -- §5 the entity sample ------------------------------------------------------------------


def ticket_hasher(seed: str) -> Any:
    """The SHA-256 state after H0 = hex(SHA256(S)); copy it and add an entity_id for x(e).

    H0 is 64 ASCII bytes, exactly one SHA-256 block, so the state is computed once per draw.
    """
    return hashlib.sha256(_hex(seed.encode("ascii")).encode("ascii"))


def ticket_number(hasher: Any, entity_id: str) -> str:
    """T(e): consistent_sampler's full generation-1 ticket, "0." + reversed decimal of x(e)."""
    h = hasher.copy()
    h.update(entity_id.encode("ascii"))
    x = int.from_bytes(h.digest(), "big")
    return "0." + f"{x:064d}"[::-1]


def trim(ticket: str, digits: int = TICKET_DIGITS) -> str:
    """consistent_sampler's `trim`: `digits` digits after any leading run of 9s, truncated."""
    mantissa = ticket[2:]
    nines = len(mantissa) - len(mantissa.lstrip("9"))
    return ticket[: 2 + nines + digits]


_PREFIX_DIGITS = 13
_PREFIX_MOD = 10**_PREFIX_DIGITS
# x mod 10^13 as Σ limb_j · (2^(16·(15-j)) mod 10^13) over the 16-bit limbs of x: each term is
# below 2^60 and sixteen of them below 2^64, so uint64 arithmetic is exact.
_LIMB_WEIGHTS = np.array([pow(2, 16 * (15 - j), _PREFIX_MOD) for j in range(16)], dtype=np.uint64)
_CHUNK = 1 << 16


# reverse4[n] = the four decimal digits of n (0 ≤ n < 10^4) in reverse order, as a number.
_REVERSE4 = np.array([int(f"{n:04d}"[::-1]) for n in range(10**4)], dtype=np.uint64)


def _reverse13(rest: np.ndarray) -> np.ndarray:
    """reverse13(r) for r < 10^13, vectorised: the 13 digits of r in reverse order."""
    ten4 = np.uint64(10**4)
    b0 = rest % ten4  # digits 0–3 (least significant first once reversed)
    rest = rest // ten4
    b1 = rest % ten4  # digits 4–7
    rest = rest // ten4
    b2 = rest % ten4  # digits 8–11
    d12 = rest // ten4  # digit 12, the most significant
    return (
        _REVERSE4[b0] * np.uint64(10**9)
        + _REVERSE4[b1] * np.uint64(10**5)
        + _REVERSE4[b2] * np.uint64(10)
        + d12
    )


def _prefix_keys(hasher: Any, ids: Sequence[str]) -> np.ndarray:
    """The first 13 ticket digits of each entity as a uint64 (reverse13(x mod 10^13)).

    Comparing these orders entities as their tickets do, except among equal keys.
    """
    keys = np.empty(len(ids), dtype=np.uint64)
    copy = hasher.copy
    for start in range(0, len(ids), _CHUNK):
        # One encode per chunk: ids match [0-9A-Z]+, so LF never occurs inside one.
        encoded = "\n".join(ids[start : start + _CHUNK]).encode("ascii").split(b"\n")
        digests = []
        append = digests.append
        for entity_id in encoded:
            h = copy()
            h.update(entity_id)
            append(h.digest())
        limbs = np.frombuffer(b"".join(digests), dtype=">u2").reshape(-1, 16).astype(np.uint64)
        rest = (limbs @ _LIMB_WEIGHTS) % np.uint64(_PREFIX_MOD)
        keys[start : start + len(digests)] = _reverse13(rest)
    return keys


class Drawn(NamedTuple):
    """抽中对象: a sampled entity, its rank in its stratum and its trimmed ticket.

    `number` is the full ticket T(e), which orders the assignment; `region` is the entity's
    region from entities.tsv, carried along so the assignment need not search for it.
    """

    stratum: str
    rank: int
    entity_id: str
    ticket: str
    number: str
    region: str


@dataclass(frozen=True)
class StratumSample:
    """分层抽样结果: N, k and the threshold ticket (trimmed ticket of rank k; None if k = 0)."""

    code: str
    n: int
    k: int
    threshold_ticket: str | None


@dataclass(frozen=True)
class Sample:
    """抽查名单: the entity sample of §5, strata in code order, drawn by stratum then rank."""

    strata: tuple[StratumSample, ...]
    drawn: tuple[Drawn, ...]

    @cached_property
    def processing_order(self) -> tuple[Drawn, ...]:
        """All drawn entities by ascending full ticket, ties by entity_id (§6)."""
        return tuple(sorted(self.drawn, key=lambda d: (d.number, d.entity_id)))


def sample(entities: EntityTable, quotas: Sequence[Quota], seed: str) -> Sample:
    """Each stratum's k entities with the smallest tickets T (§5), ranked 1..k.

    Equals `consistent_sampler.sampler(ids_c, seed=S, take=k_c, output="tuple", digits=18)`
    per stratum. Cost: one SHA-256 per entity; full tickets only for the ≈k candidates whose
    13-digit prefix is at or below the k-th smallest prefix.
    """
    with _no_gc():
        return _sample(entities, quotas, seed)


def _sample(entities: EntityTable, quotas: Sequence[Quota], seed: str) -> Sample:
    hasher = ticket_hasher(seed)
    keys = _prefix_keys(hasher, entities.ids)
    position = {q.code: i for i, q in enumerate(quotas)}
    group = np.fromiter(
        map(position.__getitem__, entities.strata), dtype=np.int64, count=len(entities)
    )
    strata, drawn = [], []
    for g, q in enumerate(quotas):
        members = np.flatnonzero(group == g)  # ascending: a few passes beat one argsort
        if 0 < q.k < len(members):
            member_keys = keys[members]
            kth = np.partition(member_keys, q.k - 1)[q.k - 1]
            members = members[member_keys <= kth]
        ids, regions = entities.ids, entities.regions
        candidates = sorted(
            (ticket_number(hasher, ids[i]), ids[i], regions[i]) for i in members.tolist()
        )
        chosen = [
            Drawn(q.code, rank, entity_id, trim(number), number, region)
            for rank, (number, entity_id, region) in enumerate(candidates[: q.k], 1)
        ]
        strata.append(StratumSample(q.code, q.n, q.k, chosen[-1].ticket if chosen else None))
        drawn += chosen
    return Sample(tuple(strata), tuple(drawn))


# -- §6 inspector assignment ---------------------------------------------------------------


class AssignmentRow(NamedTuple):
    """检查组成员: the inspector in one slot of a drawn entity's team.

    `n_avail` and `u` are those of the phase-1 pick (a slot moved or filled in phase 2 keeps
    them); `phase` is 1, or 2 if the repair changed the slot. A named tuple: a draw makes
    one per slot, a hundred thousand at a provincial scale.
    """

    entity_id: str
    slot: int
    inspector_id: str
    n_avail: int
    u: int
    phase: int


@dataclass(frozen=True)
class Unstaffed:
    """未配齐: a slot left empty, with the reason (NO_FEASIBLE_INSPECTOR)."""

    entity_id: str
    slot: int
    reason: str = NO_FEASIBLE_INSPECTOR


@dataclass(frozen=True)
class Assignment:
    """人员匹配结果: the teams of §6.

    `order` is the processing order (entity ids); `rows` the staffed slots and `unstaffed` the
    empty ones, both in processing order then slot order.
    """

    assign_key: str
    n_slots: int
    order: tuple[str, ...]
    rows: tuple[AssignmentRow, ...]
    unstaffed: tuple[Unstaffed, ...]


def assign_key(seed: str) -> str:
    """A = hex(SHA256("SRDP-1 assign\\n" ‖ S))."""
    return _hex(_ASSIGN_PREFIX + seed.encode("ascii"))


def pick_u(key: str, entity_id: str, slot: int, suffix: str = "") -> int:
    """u: the first 6 bytes of SHA256(A ‖ "|" ‖ entity_id ‖ "|" ‖ slot ‖ suffix), big-endian.

    `suffix` is "" for the draw and "|r<n>" for the n-th replacement.
    """
    return int.from_bytes(_sha256(f"{key}|{entity_id}|{slot}{suffix}".encode("ascii"))[:6], "big")


class _Pool:
    """Inspectors, eligibility and loads during one assignment or replacement (mutable).

    Inspector indices follow inspector_id order, so every index array here is in the
    spec's inspector order.
    """

    def __init__(
        self,
        bundle: Bundle,
        extra_exclusions: Iterable[tuple[str, str]] = (),
        *,
        only: set[str] | None = None,
    ):
        """`only`: the entities this pool will staff; exclusions of others are not indexed."""
        plan, inspectors = bundle.plan, bundle.inspectors
        self.plan = plan
        self.entities = bundle.entities
        self.ids = [i.inspector_id for i in inspectors]
        index = {inspector_id: n for n, inspector_id in enumerate(self.ids)}
        # Loads never exceed the number of slots, so clamping keeps caps exact in int64.
        bound = len(bundle.entities) * len(plan.slots) + 1
        self.cap = np.array([min(i.cap, bound) for i in inspectors], dtype=np.int64)
        self.load = np.zeros(len(inspectors), dtype=np.int64)
        self.dept = np.array([i.dept for i in inspectors], dtype=str)
        self.region = np.array([i.region for i in inspectors], dtype=str)
        pairs = [
            (x.entity_id, x.inspector_id)
            for x in bundle.exclusions
            if only is None or x.entity_id in only
        ]
        self.excluded: dict[str, set[int]] = {}
        for entity_id, inspector_id in [*pairs, *extra_exclusions]:
            if inspector_id in index:
                self.excluded.setdefault(entity_id, set()).add(index[inspector_id])
        self._base: dict[tuple[str, str], np.ndarray] = {}

    def entity_region(self, entity_id: str) -> str:
        region = self.entities.region(entity_id)
        if region is None:
            raise DrawError(f"entity {entity_id} is not in entities.tsv")
        return region

    def base_eligible(self, slot: int, region: str) -> np.ndarray:
        """Eligible(e, s) before exclusions: cap > 0, department, region rule."""
        dept = self.plan.slots[slot]
        key = (dept, region)
        if key not in self._base:
            mask = self.cap > 0
            if dept != ANY_DEPT:
                mask &= self.dept == dept
            if self.plan.region_rule == "different":
                mask &= self.region != region
            elif self.plan.region_rule == "same":
                mask &= self.region == region
            self._base[key] = np.flatnonzero(mask)
        return self._base[key]

    def eligible(self, entity_id: str, region: str, slot: int) -> np.ndarray:
        """Eligible(e, s) as ascending inspector indices."""
        base = self.base_eligible(slot, region)
        excluded = self.excluded.get(entity_id)
        if excluded:
            base = base[~np.isin(base, list(excluded))]
        return base

    def has_spare(self, slot: int) -> bool:
        """Whether any inspector who may fill this slot's department is below cap."""
        dept = self.plan.slots[slot]
        spare = self.load < self.cap
        return bool(spare.any() if dept == ANY_DEPT else (spare & (self.dept == dept)).any())

    def available(self, entity_id: str, region: str, slot: int, team: Iterable[int]) -> np.ndarray:
        """Avail(e, s): eligible, not in the team already, below cap; least loaded if asked."""
        cand = self.eligible(entity_id, region, slot)
        cand = cand[self.load[cand] < self.cap[cand]]
        for member in team:
            cand = cand[cand != member]
        if self.plan.selection == "least_loaded" and cand.size:
            loads = self.load[cand]
            cand = cand[loads == loads.min()]
        return cand


def assign(bundle: Bundle, sample: Sample, seed: str) -> Assignment:
    """Teams for every drawn entity (§6): phase 1 random picks, phase 2 BFS repair.

    Invariants: caps, exclusions, departments, region rule and distinct team members hold for
    every row; a slot is unstaffed only if the repair found no chain of moves for it.
    """
    with _no_gc():
        board = _Board(bundle, sample, assign_key(seed))
        for pos, s in board.phase1():
            board.repair(pos, s)
        return board.assignment()


class _Board:
    """The teams while §6 runs (mutable, private to `assign`). Entities are positions in
    processing order, inspectors indices into the pool, -1 an empty slot."""

    def __init__(self, bundle: Bundle, sample: Sample, key: str):
        self.key = key
        self.order = [d.entity_id for d in sample.processing_order]
        self.pool = _Pool(bundle, only=set(self.order))
        self.n_slots = len(bundle.plan.slots)
        self.regions = [d.region for d in sample.processing_order]
        self.held = [[-1] * self.n_slots for _ in self.order]
        self.n_avail = [[0] * self.n_slots for _ in self.order]
        self.u = [[0] * self.n_slots for _ in self.order]
        self.phase = [[1] * self.n_slots for _ in self.order]
        # (position, slot) pairs each inspector holds, kept sorted: the BFS visits them in order.
        self.holders: list[list[tuple[int, int]]] = [[] for _ in self.pool.ids]
        # Phase 1 with uniform selection: per (department, region), the base-eligible
        # inspectors still below cap, ascending. Avail(e, s) is this list without the entity's
        # exclusions and team, so a pick needs no array work; an inspector leaves the lists
        # when it reaches its cap. least_loaded picks go through `pick` (the spec's arrays).
        self.open: dict[tuple[str, str], list[int]] | None = (
            {} if bundle.plan.selection == "uniform" else None
        )

    def phase1(self) -> list[tuple[int, int]]:
        """Phase 1 for every slot in (position, slot) order; returns the pending slots."""
        slots = range(self.n_slots)
        if self.open is None:
            return [
                (pos, s) for pos in range(len(self.order)) for s in slots if not self.pick(pos, s)
            ]
        pool = self.pool
        loads, caps = pool.load.tolist(), pool.cap.tolist()  # plain ints: faster one by one
        depts = pool.plan.slots
        prefix = hashlib.sha256(f"{self.key}|".encode("ascii"))  # u's hash state, copied per slot
        suffixes = [f"|{s}".encode("ascii") for s in slots]
        bisect_left = bisect.bisect_left
        open_lists, holders, excluded_of = self.open, self.holders, pool.excluded
        pending = []
        for pos, entity_id in enumerate(self.order):
            team, region = self.held[pos], self.regions[pos]
            u_row, n_row = self.u[pos], self.n_avail[pos]
            excluded = excluded_of.get(entity_id, ())
            encoded = entity_id.encode("ascii")
            for s in slots:
                h = prefix.copy()
                h.update(encoded + suffixes[s])
                u = int.from_bytes(h.digest()[:6], "big")
                dept = depts[s]
                candidates = open_lists.get((dept, region))
                if candidates is None:
                    base = pool.base_eligible(s, region).tolist()
                    candidates = [i for i in base if loads[i] < caps[i]]
                    open_lists[(dept, region)] = candidates
                # Avail(e, s) = candidates without the team and the exclusions: find their
                # positions, then the survivor at u mod |Avail| by stepping over them.
                gone = []
                for i in (*team, *excluded):
                    if i >= 0:
                        p = bisect_left(candidates, i)
                        if p < len(candidates) and candidates[p] == i:
                            gone.append(p)
                n = len(candidates) - len(gone)
                u_row[s], n_row[s] = u, n
                if not n:
                    pending.append((pos, s))
                    continue
                j = u % n
                if gone:
                    for p in sorted(gone):
                        if p > j:
                            break
                        j += 1
                chosen = candidates[j]
                team[s] = chosen
                loads[chosen] += 1
                holders[chosen].append((pos, s))
                if loads[chosen] >= caps[chosen]:
                    for members in open_lists.values():
                        p = bisect_left(members, chosen)
                        if p < len(members) and members[p] == chosen:
                            del members[p]
        pool.load[:] = loads
        return pending

    def pick(self, pos: int, slot: int) -> bool:
        """Phase 1 for one slot, straight from the spec's Avail; False leaves it pending."""
        entity_id, team = self.order[pos], self.held[pos]
        cand = self.pool.available(entity_id, self.regions[pos], slot, (i for i in team if i >= 0))
        u = pick_u(self.key, entity_id, slot)
        self.u[pos][slot], self.n_avail[pos][slot] = u, int(cand.size)
        if not cand.size:
            return False
        chosen = int(cand[u % cand.size])
        team[slot] = chosen
        self.pool.load[chosen] += 1
        self.holders[chosen].append((pos, slot))  # phase 1 runs in (position, slot) order
        return True

    def repair(self, pos0: int, slot0: int) -> bool:
        """Phase 2 for one pending slot, exactly as §6: a BFS over the current teams for a
        chain of moves ending at an inspector below cap, then the chain is rewritten."""
        pool = self.pool
        # Every inspector the search labels serves this slot's department (an inspector holds
        # only slots of its department), so with none below cap the search would visit every
        # held slot and fail: skipping it gives the same result at no cost.
        if not pool.has_spare(slot0):
            return False
        queue = deque([(pos0, slot0)])
        seen = {pos0}
        label: dict[int, tuple[int, int]] = {}
        # Per (department, region): the inspectors of that base list not labelled yet, in
        # inspector order. Scanning these instead of the whole list skips exactly the labelled
        # ones, as the spec does, without re-reading them at every step of a long search.
        unlabelled: dict[tuple[str, str], list[int]] = {}
        while queue:
            x, t = queue.popleft()
            team, excluded = self.held[x], pool.excluded.get(self.order[x], ())
            key = (pool.plan.slots[t], self.regions[x])
            if key not in unlabelled:
                unlabelled[key] = pool.base_eligible(t, self.regions[x]).tolist()
            kept = []
            for c in unlabelled[key]:
                if c in label:
                    continue
                if c in team or c in excluded:
                    kept.append(c)
                    continue
                label[c] = (x, t)
                if pool.load[c] < pool.cap[c]:
                    self._rewrite(c, label)
                    return True
                for y, t_y in self.holders[c]:
                    if y not in seen:
                        seen.add(y)
                        queue.append((y, t_y))
            unlabelled[key] = kept
        return False

    def _rewrite(self, found: int, label: dict[int, tuple[int, int]]) -> None:
        self.pool.load[found] += 1
        c = found
        while True:
            x, t = label[c]
            prev = self.held[x][t]
            self.held[x][t] = c
            bisect.insort(self.holders[c], (x, t))
            self.phase[x][t] = 2
            if prev < 0:
                return
            self.holders[prev].remove((x, t))
            c = prev

    def assignment(self) -> Assignment:
        rows, unstaffed = [], []
        for pos, entity_id in enumerate(self.order):
            for s, inspector in enumerate(self.held[pos]):
                if inspector < 0:
                    unstaffed.append(Unstaffed(entity_id, s))
                else:
                    rows.append(
                        AssignmentRow(
                            entity_id,
                            s,
                            self.pool.ids[inspector],
                            self.n_avail[pos][s],
                            self.u[pos][s],
                            self.phase[pos][s],
                        )
                    )
        return Assignment(self.key, self.n_slots, tuple(self.order), tuple(rows), tuple(unstaffed))


# -- §6 replacement after the draw ---------------------------------------------------------


@dataclass(frozen=True)
class ReplacementRequest:
    """换人申请: withdraw the inspector in slot (entity_id, slot) for `reason` at time `at`."""

    entity_id: str
    slot: int
    reason: str
    at: datetime


@dataclass(frozen=True)
class Replacement:
    """人员替换记录: the n-th replacement of a draw; `inspector_id` None means UNSTAFFED."""

    n: int
    entity_id: str
    slot: int
    withdrawn: str
    reason: str
    inspector_id: str | None
    n_avail: int
    u: int
    at: datetime


def current_teams(
    assignment: Assignment, replacements: Sequence[Replacement] = ()
) -> dict[str, list[str | None]]:
    """entity_id → inspector per slot (None = empty) after the replacements, in processing
    order."""
    teams: dict[str, list[str | None]] = {e: [None] * assignment.n_slots for e in assignment.order}
    for row in assignment.rows:
        teams[row.entity_id][row.slot] = row.inspector_id
    for r in replacements:
        teams[r.entity_id][r.slot] = r.inspector_id
    return teams


def replace(
    bundle: Bundle,
    assignment: Assignment,
    previous: Sequence[Replacement],
    request: ReplacementRequest,
) -> Replacement:
    """The next (n = len(previous) + 1) replacement (§6).

    The withdrawn inspector is the slot's current holder; the pair joins the draw's exclusions
    (with those of earlier replacements), its load is released, and the pick is from Avail(e, s)
    with current loads and u suffixed "|r<n>". `previous` must be this draw's replacements in
    order. Raises DrawError if the entity was not drawn, the slot is out of range or empty.
    """
    if CODE_RE.fullmatch(request.reason) is None:
        raise DrawError(f"reason {request.reason!r} must match {CODE_RE.pattern}")
    teams = current_teams(assignment, previous)
    team = teams.get(request.entity_id)
    if team is None:
        raise DrawError(f"entity {request.entity_id} was not drawn")
    if not 0 <= request.slot < assignment.n_slots:
        raise DrawError(f"slot {request.slot} does not exist")
    withdrawn = team[request.slot]
    if withdrawn is None:
        raise DrawError(f"slot {request.slot} of {request.entity_id} has nobody to replace")
    n = len(previous) + 1
    excluded = [(r.entity_id, r.withdrawn) for r in previous]
    pool = _Pool(bundle, [*excluded, (request.entity_id, withdrawn)], only={request.entity_id})
    index = {inspector_id: i for i, inspector_id in enumerate(pool.ids)}
    team[request.slot] = None  # the load release
    for members in teams.values():
        for member in members:
            if member is not None:
                pool.load[index[member]] += 1
    region = pool.entity_region(request.entity_id)
    others = [index[m] for m in team if m is not None]
    cand = pool.available(request.entity_id, region, request.slot, others)
    u = pick_u(assignment.assign_key, request.entity_id, request.slot, f"|r{n}")
    chosen = pool.ids[int(cand[u % cand.size])] if cand.size else None
    return Replacement(
        n,
        request.entity_id,
        request.slot,
        withdrawn,
        request.reason,
        chosen,
        int(cand.size),
        u,
        request.at,
    )


def replay(
    bundle: Bundle, assignment: Assignment, requests: Iterable[ReplacementRequest]
) -> tuple[Replacement, ...]:
    """All replacements of a draw from their requests, in order."""
    done: list[Replacement] = []
    for request in requests:
        done.append(replace(bundle, assignment, done, request))
    return tuple(done)


# -- the whole draw and §7 manifest --------------------------------------------------------


@dataclass(frozen=True)
class Draw:
    """抽查结果: what §3–§6 derive from a bundle and its randomness."""

    bundle: Bundle
    sha256sums: str
    snapshot: str
    randomness: tuple[RandomnessValue, ...]
    seed_text: str
    seed: str
    quotas: tuple[Quota, ...]
    sample: Sample
    assignment: Assignment


def draw(files: Mapping[str, bytes], randomness: Iterable[RandomnessValue]) -> Draw:
    """Run a draw: parse the bundle, derive the seed, quotas, sample and assignment.

    Raises BundleError for a bad bundle and RandomnessError for bad randomness.
    """
    with _no_gc():
        bundle = parse_bundle(files)
    sums = sha256sums(files)
    snap = snapshot(sums)
    values = canonical_randomness(bundle.plan, randomness)
    text = seed_text(bundle.plan.plan_id, snap, values)
    seed = seed_of(text)
    q = quotas(bundle.plan, bundle.entities)
    drawn = sample(bundle.entities, q, seed)
    return Draw(bundle, sums, snap, values, text, seed, q, drawn, assign(bundle, drawn, seed))


def sample_sha256(sample: Sample) -> str:
    """hex(SHA256) of `stratum\\trank\\tentity_id\\tticket\\n` in manifest order."""
    lines = (f"{d.stratum}\t{d.rank}\t{d.entity_id}\t{d.ticket}\n" for d in sample.drawn)
    return _hex("".join(lines).encode("ascii"))


def assignment_sha256(assignment: Assignment) -> str:
    """hex(SHA256) of `entity_id\\tslot\\tinspector_id\\n` for every slot (empty field when
    unstaffed) in processing order then slot order; the draw's assignment, not replacements."""
    teams = current_teams(assignment)
    lines = (
        f"{entity_id}\t{s}\t{inspector_id or ''}\n"
        for entity_id, team in teams.items()
        for s, inspector_id in enumerate(team)
    )
    return _hex("".join(lines).encode("ascii"))


def _randomness_entry(source: RandomnessSource, value: RandomnessValue) -> dict[str, Any]:
    clash = {"label", "kind", "value"} & set(value.provenance)
    if clash:
        raise DrawError(f"provenance of {value.label!r} may not set {sorted(clash)}")
    return {"label": value.label, "kind": source.kind, "value": value.value, **value.provenance}


def replacement_entry(r: Replacement) -> dict[str, Any]:
    """A replacement as it appears in the manifest."""
    return {
        "n": r.n,
        "entity_id": r.entity_id,
        "slot": r.slot,
        "withdrawn": r.withdrawn,
        "reason": r.reason,
        "inspector_id": r.inspector_id,
        "n_avail": r.n_avail,
        "u": r.u,
        "at": r.at.isoformat(),
    }


def manifest(
    result: Draw,
    *,
    committed_at: datetime,
    software: Mapping[str, str],
    replacements: Sequence[Replacement] = (),
) -> dict[str, Any]:
    """The full manifest of §7 as a JSON-ready dict (the auditors' view, with strata, regions
    and inspectors). Times are rendered with `isoformat()`; pass timezone-aware datetimes."""
    plan = result.bundle.plan
    return {
        "spec": SPEC,
        "plan_id": plan.plan_id,
        "plan": plan.to_json(),
        "sha256sums": result.sha256sums,
        "snapshot_sha256": result.snapshot,
        "committed_at": committed_at.isoformat(),
        "randomness": [
            _randomness_entry(source, value)
            for source, value in zip(plan.randomness, result.randomness, strict=True)
        ],
        "seed_text": result.seed_text,
        "seed": result.seed,
        "strata": [
            {"code": s.code, "N": s.n, "k": s.k, "threshold_ticket": s.threshold_ticket}
            for s in result.sample.strata
        ],
        "sample": [
            {"stratum": d.stratum, "rank": d.rank, "entity_id": d.entity_id, "ticket": d.ticket}
            for d in result.sample.drawn
        ],
        "assignment": {
            "assign_key": result.assignment.assign_key,
            "rows": [
                {
                    "entity_id": r.entity_id,
                    "slot": r.slot,
                    "inspector_id": r.inspector_id,
                    "n_avail": r.n_avail,
                    "u": r.u,
                    "phase": r.phase,
                }
                for r in result.assignment.rows
            ],
            "unstaffed": [
                {"entity_id": x.entity_id, "slot": x.slot, "reason": x.reason}
                for x in result.assignment.unstaffed
            ],
        },
        "replacements": [replacement_entry(r) for r in replacements],
        "sample_sha256": sample_sha256(result.sample),
        "assignment_sha256": assignment_sha256(result.assignment),
        "software": dict(software),
    }
