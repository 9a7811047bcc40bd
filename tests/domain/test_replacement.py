"""Replacement after the draw (§6): deterministic, excludes the withdrawn, releases loads."""

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shuangsuiji.domain import srdp
from shuangsuiji.domain.bundle import FILES
from shuangsuiji.domain.srdp import DrawError, ReplacementRequest
from shuangsuiji.domain.verify import team_problems, verify

from .test_srdp_properties import bundles, run, seeds

VECTORS = Path(__file__).parent / "vectors"
AT = datetime(2026, 1, 6, 9, 30, tzinfo=UTC)
# In v1-demo's draw, entity 7H (region R01) has ZF000002 + ZF000003 and ZF000005 is at its cap
# of 3, so nobody else outside R01 is left for 7H, until ZF000005 withdraws from 0A.
E_7H, E_0A, E_9K = "91110000100000007H", "91110000100000000A", "91110000100000009K"


def vector_draw(name):
    folder = VECTORS / name
    files = {n: (folder / n).read_bytes() for n in FILES}
    expected = json.loads((folder / "expected.json").read_bytes())
    randomness = [srdp.RandomnessValue(r["label"], r["value"]) for r in expected["randomness"]]
    return files, srdp.draw(files, randomness)


@pytest.fixture
def v1():
    return vector_draw("v1-demo")


def replace(result, previous, entity_id, slot, reason="ILLNESS"):
    request = ReplacementRequest(entity_id, slot, reason, AT)
    return srdp.replace(result.bundle, result.assignment, previous, request)


def brute_force_avail(bundle, teams, excluded, entity_id, slot):
    """Avail(e, s) straight from the spec's definition, over records."""
    plan = bundle.plan
    region = bundle.entities.region(entity_id)
    loads = Counter(m for team in teams.values() for m in team if m is not None)
    avail = [
        i.inspector_id
        for i in bundle.inspectors
        if i.cap > 0
        and plan.slots[slot] in ("*", i.dept)
        and not (plan.region_rule == "different" and i.region == region)
        and not (plan.region_rule == "same" and i.region != region)
        and (entity_id, i.inspector_id) not in excluded
        and i.inspector_id not in teams[entity_id]
        and loads[i.inspector_id] < i.cap
    ]
    if plan.selection == "least_loaded" and avail:
        least = min(loads[i] for i in avail)
        avail = [i for i in avail if loads[i] == least]
    return avail


def check_replacements(bundle, assignment, requests):
    """Run the requests in order, each checked against the brute-force Avail."""
    done = []
    excluded = {(x.entity_id, x.inspector_id) for x in bundle.exclusions}
    for request in requests:
        teams = srdp.current_teams(assignment, done)
        withdrawn = teams[request.entity_id][request.slot]
        teams[request.entity_id][request.slot] = None
        excluded.add((request.entity_id, withdrawn))
        avail = brute_force_avail(bundle, teams, excluded, request.entity_id, request.slot)
        got = srdp.replace(bundle, assignment, done, request)
        assert (got.n, got.withdrawn, got.n_avail) == (len(done) + 1, withdrawn, len(avail))
        assert got.inspector_id == (avail[got.u % len(avail)] if avail else None)
        done.append(got)
    assert team_problems(bundle, assignment, done) == []
    assert srdp.replay(bundle, assignment, requests) == tuple(done)
    return done


def test_replacement_is_deterministic(v1):
    _, result = v1
    once = replace(result, [], E_9K, 0)
    assert once == replace(result, [], E_9K, 0)
    assert (once.n, once.withdrawn, once.inspector_id, once.n_avail) == (
        1,
        "ZF000001",
        "ZF000004",
        2,
    )
    assert once.u == srdp.pick_u(result.assignment.assign_key, E_9K, 0, "|r1")


def test_nth_replacement_uses_its_own_suffix_and_earlier_exclusions(v1):
    _, result = v1
    first = replace(result, [], E_9K, 0)
    second = replace(result, [first], E_9K, 0)
    assert (second.n, second.withdrawn) == (2, "ZF000004")
    assert (second.inspector_id, second.n_avail) == ("ZF000002", 1)  # ZF000001 is excluded now
    assert second.u == srdp.pick_u(result.assignment.assign_key, E_9K, 0, "|r2")


def test_empty_avail_leaves_the_slot_unstaffed(v1):
    _, result = v1
    alone = replace(result, [], E_7H, 0)
    assert (alone.withdrawn, alone.inspector_id, alone.n_avail) == ("ZF000002", None, 0)
    assert srdp.current_teams(result.assignment, [alone])[E_7H] == [None, "ZF000003"]


def test_withdrawn_load_is_released_for_later_replacements(v1):
    _, result = v1
    first = replace(result, [], E_0A, 1, "CONFLICT")
    assert first.withdrawn == "ZF000005"
    second = replace(result, [first], E_7H, 0)
    assert (second.inspector_id, second.n_avail) == ("ZF000005", 1)


def test_replacing_an_empty_slot_is_refused(v1):
    _, result = v1
    alone = replace(result, [], E_7H, 0)
    with pytest.raises(DrawError, match="nobody to replace"):
        replace(result, [alone], E_7H, 0)


@pytest.mark.parametrize(
    ("entity_id", "slot", "reason", "words"),
    [
        ("91110000100000003D", 0, "CONFLICT", "was not drawn"),
        (E_7H, 2, "CONFLICT", "does not exist"),
        (E_7H, 0, "回避", "must match"),
    ],
)
def test_impossible_requests_are_refused(v1, entity_id, slot, reason, words):
    _, result = v1
    with pytest.raises(DrawError, match=words):
        replace(result, [], entity_id, slot, reason)


@pytest.mark.parametrize("name", ["v1-demo", "v2-joint-repair"])
def test_each_slot_replacement_picks_avail_u_mod_n(name):
    _, result = vector_draw(name)
    for row in result.assignment.rows:
        request = ReplacementRequest(row.entity_id, row.slot, "ILLNESS", AT)
        check_replacements(result.bundle, result.assignment, [request])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bundles(), seeds, st.data())
def test_replacement_sequences_follow_the_spec(bundle, seed, data):
    _, _, assignment = run(bundle, seed)
    requests, done = [], []
    for _ in range(data.draw(st.integers(1, 4))):
        teams = srdp.current_teams(assignment, done)
        held = [(e, s) for e, team in teams.items() for s, m in enumerate(team) if m is not None]
        if not held:
            break
        entity_id, slot = data.draw(st.sampled_from(held))
        requests.append(ReplacementRequest(entity_id, slot, "CONFLICT", AT))
        done = check_replacements(bundle, assignment, requests)


def test_verify_replays_the_published_replacements(v1):
    files, result = v1
    first = replace(result, [], E_0A, 1, "CONFLICT")
    second = replace(result, [first], E_7H, 0)
    manifest = srdp.manifest(
        result,
        committed_at=AT,
        software={"name": "t", "version": "0"},
        replacements=[first, second],
    )
    assert verify(files, manifest) == []
    manifest["replacements"][1]["inspector_id"] = "ZF000004"
    assert verify(files, manifest) == [
        "replacements[1].inspector_id: manifest has 'ZF000004', recomputed 'ZF000005'"
    ]
