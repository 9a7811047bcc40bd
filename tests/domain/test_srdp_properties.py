"""Properties of the draw on random bundles (hypothesis), checked against independent tools:
consistent_sampler for the sample and scipy's max-flow for the repair."""

import string
from itertools import pairwise
from unittest import mock

import consistent_sampler
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from shuangsuiji.domain import srdp
from shuangsuiji.domain.bundle import (
    Entity,
    Exclusion,
    Inspector,
    Plan,
    RandomnessSource,
    StratumRule,
    build_bundle,
    parse_bundle,
)
from shuangsuiji.domain.verify import team_problems

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ID_CHARS = string.digits + string.ascii_uppercase
REGIONS = ["R1", "R2", "R3"]
DEPTS = ["SAMR", "TAX"]
ids = st.text(ID_CHARS, min_size=1, max_size=6)
seeds = st.binary(min_size=32, max_size=32).map(bytes.hex)


@st.composite
def stratum_rules(draw, code):
    if draw(st.booleans()):
        rule = StratumRule(code, count=draw(st.integers(0, 12)))
    else:
        ratio = draw(st.sampled_from(["0", "0.1", "0.25", "0.34", "0.5", "0.75", "1"]))
        rule = StratumRule(code, ratio=ratio)
    k_min = draw(st.none() | st.integers(0, 5))
    k_max = draw(st.none() | st.integers(0, 10))
    return StratumRule(rule.code, rule.ratio, rule.count, k_min, k_max)


@st.composite
def bundles(draw, max_entities=30, max_inspectors=10):
    """A canonical bundle of a small, often tight instance (caps, regions and exclusions bind)."""
    codes = draw(st.lists(st.sampled_from("ABC"), min_size=1, max_size=3, unique=True))
    entity_ids = draw(st.lists(ids, max_size=max_entities, unique=True))
    entities = [
        Entity(e, draw(st.sampled_from(codes)), draw(st.sampled_from(REGIONS))) for e in entity_ids
    ]
    inspector_ids = draw(st.lists(ids, max_size=max_inspectors, unique=True))
    inspectors = [
        Inspector(
            i, draw(st.sampled_from(DEPTS)), draw(st.sampled_from(REGIONS)), draw(st.integers(0, 4))
        )
        for i in inspector_ids
    ]
    pairs = [(e, i) for e in entity_ids for i in inspector_ids]
    excluded = draw(st.lists(st.sampled_from(pairs), max_size=20)) if pairs else []
    exclusions = [
        Exclusion(e, i, draw(st.sampled_from(["CONFLICT", "PREVIOUS"]))) for e, i in excluded
    ]
    n_slots = draw(st.integers(2, 3))
    slots = (
        tuple(draw(st.sampled_from(DEPTS)) for _ in range(n_slots))
        if draw(st.booleans())
        else ("*",) * n_slots
    )
    plan = Plan(
        plan_id="P-1",
        strata=tuple(draw(stratum_rules(code)) for code in sorted(codes)),
        rounding=draw(st.sampled_from(["ceil", "floor", "half_up"])),
        slots=slots,
        region_rule=draw(st.sampled_from(["none", "different", "same"])),
        selection=draw(st.sampled_from(["uniform", "least_loaded"])),
        randomness=(RandomnessSource("dice", "digits", min_len=20),),
    )
    return parse_bundle(build_bundle(entities, inspectors, exclusions, plan))


def run(bundle, seed):
    quotas = srdp.quotas(bundle.plan, bundle.entities)
    drawn = srdp.sample(bundle.entities, quotas, seed)
    return quotas, drawn, srdp.assign(bundle, drawn, seed)


@SETTINGS
@given(bundles(), seeds)
def test_sample_has_exact_sizes_and_no_entity_twice(bundle, seed):
    quotas, drawn, _ = run(bundle, seed)
    ids = [d.entity_id for d in drawn.drawn]
    assert len(ids) == len(set(ids)) == sum(q.k for q in quotas)
    strata = dict(zip(bundle.entities.ids, bundle.entities.strata, strict=True))
    for q, s in zip(quotas, drawn.strata, strict=True):
        mine = [d for d in drawn.drawn if d.stratum == q.code]
        assert (s.code, s.n, s.k) == (q.code, q.n, q.k) == (q.code, q.n, len(mine))
        assert [d.rank for d in mine] == list(range(1, q.k + 1))
        assert all(strata[d.entity_id] == q.code for d in mine)
        assert all(a.number < b.number for a, b in pairwise(mine))
        assert s.threshold_ticket == (mine[-1].ticket if mine else None)


@SETTINGS
@given(bundles(), seeds)
def test_consistent_sampler_reproduces_a_random_bundle(bundle, seed):
    _, drawn, _ = run(bundle, seed)
    for s in drawn.strata:
        members = [e.entity_id for e in bundle.entities.rows() if e.stratum == s.code]
        theirs = list(
            consistent_sampler.sampler(members, seed=seed, take=s.k, output="tuple", digits=18)
        )
        assert theirs == [(d.ticket, d.entity_id, 1) for d in drawn.drawn if d.stratum == s.code]


@SETTINGS
@given(bundles(), seeds)
def test_every_team_respects_caps_exclusions_departments_regions_and_distinct_members(bundle, seed):
    _, drawn, assignment = run(bundle, seed)
    assert team_problems(bundle, assignment) == []
    staffed = {(r.entity_id, r.slot) for r in assignment.rows}
    empty = {(u.entity_id, u.slot) for u in assignment.unstaffed}
    every = {(d.entity_id, s) for d in drawn.drawn for s in range(len(bundle.plan.slots))}
    assert staffed | empty == every and not staffed & empty


def max_staffable(bundle, drawn):
    """Max-flow over source → slot → (entity, inspector) → inspector → sink: the most slots
    any assignment could staff (the middle layer, capacity 1, keeps team members distinct)."""
    plan = bundle.plan
    excluded = {(x.entity_id, x.inspector_id) for x in bundle.exclusions}
    region = dict(zip(bundle.entities.ids, bundle.entities.regions, strict=True))
    nodes: dict[object, int] = {"source": 0, "sink": 1}
    edges: dict[tuple[int, int], int] = {}

    def node(key):
        return nodes.setdefault(key, len(nodes))

    def edge(a, b, capacity):
        edges[node(a), node(b)] = capacity

    for i in bundle.inspectors:
        edge(("i", i.inspector_id), "sink", i.cap)
    for d in drawn.drawn:
        e = d.entity_id
        for s, dept in enumerate(plan.slots):
            edge("source", ("slot", e, s), 1)
            for i in bundle.inspectors:
                if (
                    i.cap > 0
                    and dept in ("*", i.dept)
                    and (e, i.inspector_id) not in excluded
                    and not (plan.region_rule == "different" and i.region == region[e])
                    and not (plan.region_rule == "same" and i.region != region[e])
                ):
                    edge(("slot", e, s), ("pair", e, i.inspector_id), 1)
                    edge(("pair", e, i.inspector_id), ("i", i.inspector_id), 1)
    if not edges:
        return 0
    rows, cols = zip(*edges, strict=True)
    graph = csr_matrix(
        (np.array(list(edges.values()), dtype=np.int32), (rows, cols)), shape=(len(nodes),) * 2
    )
    return maximum_flow(graph, 0, 1).flow_value


@st.composite
def tight_bundles(draw):
    """Instances where total cap is close to the demand, so phase 1 leaves slots pending and
    the repair has work to do."""
    regions = REGIONS[: draw(st.integers(1, 3))]
    n_entities = draw(st.integers(4, 40))
    entities = [Entity(f"E{n}", "A", draw(st.sampled_from(regions))) for n in range(n_entities)]
    n_slots = draw(st.integers(2, 3))
    slots = draw(st.sampled_from([("*",) * n_slots, ("SAMR", "TAX"), ("SAMR", "SAMR", "TAX")]))
    demand = -(-n_entities // 2) * len(slots)
    n_inspectors = draw(st.integers(3, 10))
    mean = -(-demand * 5 // (4 * n_inspectors))
    inspectors = [
        Inspector(
            f"I{n}",
            DEPTS[n % 2],
            draw(st.sampled_from(regions)),
            draw(st.integers(mean // 2, 2 * mean)),
        )
        for n in range(n_inspectors)
    ]
    pairs = st.tuples(st.integers(0, n_entities - 1), st.integers(0, n_inspectors - 1))
    exclusions = [
        Exclusion(f"E{e}", f"I{i}", "CONFLICT") for e, i in draw(st.lists(pairs, max_size=25))
    ]
    plan = Plan(
        "TIGHT",
        (StratumRule("A", ratio="0.5"),),
        "ceil",
        slots,
        draw(st.sampled_from(["none", "different", "same"])),
        draw(st.sampled_from(["uniform", "least_loaded"])),
        (RandomnessSource("dice", "digits", min_len=20),),
    )
    return parse_bundle(build_bundle(entities, inspectors, exclusions, plan))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tight_bundles(), seeds)
def test_repair_staffs_as_many_slots_as_max_flow(bundle, seed):
    _, drawn, assignment = run(bundle, seed)
    repaired = sum(r.phase == 2 for r in assignment.rows)
    target(float(repaired))  # steer generation towards instances the repair has to work on
    event(f"phase 2 moved slots: {repaired > 0}; unstaffed left: {bool(assignment.unstaffed)}")
    assert len(assignment.rows) == max_staffable(bundle, drawn)


def test_sample_is_exact_when_many_prefixes_tie(monkeypatch):
    """Coarse prefixes force the full-ticket comparison the fast path skips almost always."""
    entities = [Entity(f"E{n:04d}", "AB"[n % 2], "R1") for n in range(400)]
    plan = Plan(
        "P",
        (StratumRule("A", ratio="0.1"), StratumRule("B", count=7)),
        "ceil",
        ("*", "*"),
        "none",
        "uniform",
        (RandomnessSource("dice", "digits", min_len=20),),
    )
    bundle = parse_bundle(build_bundle(entities, [], [], plan))
    seed = "5" * 64
    quotas = srdp.quotas(plan, bundle.entities)
    exact = srdp.sample(bundle.entities, quotas, seed)
    fine = srdp._prefix_keys
    monkeypatch.setattr(srdp, "_prefix_keys", lambda h, ids: fine(h, ids) // np.uint64(10**12))
    assert srdp.sample(bundle.entities, quotas, seed) == exact


@pytest.mark.parametrize("seed", ["0" * 64, "f" * 64, "0123456789abcdef" * 4])
def test_prefix_keys_are_the_first_13_ticket_digits(seed):
    entity_ids = [f"91{n:016d}" for n in range(300)]
    hasher = srdp.ticket_hasher(seed)
    keys = srdp._prefix_keys(hasher, entity_ids)
    assert [int(srdp.ticket_number(hasher, e)[2:15]) for e in entity_ids] == keys.tolist()


def test_trim_matches_consistent_sampler():
    for ticket in ["0.123", "0.9991234567890123456789012", "0.99999", "0." + "9" * 30 + "12345"]:
        assert srdp.trim(ticket, 4) == consistent_sampler.trim(ticket, 4)
        assert srdp.trim(ticket) == consistent_sampler.trim(ticket, 18)


def test_an_empty_bundle_draws_nothing():
    plan = Plan(
        "EMPTY",
        (),
        "ceil",
        ("*", "*"),
        "none",
        "uniform",
        (RandomnessSource("dice", "digits", min_len=20),),
    )
    files = build_bundle([], [], [], plan)
    assert files["entities.tsv"] == b""
    result = srdp.draw(files, [srdp.RandomnessValue("dice", "1" * 20)])
    assert result.sample.drawn == () and result.assignment.rows == ()
    assert srdp.sample_sha256(result.sample) == srdp.assignment_sha256(result.assignment)


def test_consistent_sampler_agrees_on_a_larger_registry():
    entities = [Entity(f"9111{n:014d}", "ABC"[n % 3], "R1") for n in range(6000)]
    rules = (StratumRule("A", ratio="0.05"), StratumRule("B", count=1), StratumRule("C", count=0))
    plan = Plan(
        "BIG",
        rules,
        "ceil",
        ("*", "*"),
        "none",
        "uniform",
        (RandomnessSource("dice", "digits", min_len=20),),
    )
    bundle = parse_bundle(build_bundle(entities, [], [], plan))
    seed = "c0ffee" * 10 + "beef"
    drawn = srdp.sample(bundle.entities, srdp.quotas(plan, bundle.entities), seed)
    assert [s.k for s in drawn.strata] == [100, 1, 0]
    for s in drawn.strata:
        ids = [e.entity_id for e in entities if e.stratum == s.code]
        theirs = list(consistent_sampler.sampler(ids, seed=seed, take=s.k, digits=18))
        assert theirs == [(d.ticket, d.entity_id, 1) for d in drawn.drawn if d.stratum == s.code]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tight_bundles(), seeds)
def test_fast_phase_one_equals_the_spec_path(bundle, seed):
    """Phase 1's open lists give exactly what the spec's array Avail gives, caps binding."""
    quotas = srdp.quotas(bundle.plan, bundle.entities)
    drawn = srdp.sample(bundle.entities, quotas, seed)
    fast = srdp.assign(bundle, drawn, seed)
    with mock.patch.object(srdp._Board, "phase1", _spec_phase1):
        spec = srdp.assign(bundle, drawn, seed)
    assert fast == spec


def _spec_phase1(board):
    slots = range(board.n_slots)
    return [(p, s) for p in range(len(board.order)) for s in slots if not board.pick(p, s)]
