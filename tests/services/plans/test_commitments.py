"""Commitments: the frozen inputs, the capacity pre-check, storage."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from shuangsuiji.db import AuditEntry
from shuangsuiji.domain import bundle as srdp_bundle
from shuangsuiji.errors import Conflict, Invalid
from shuangsuiji.services.plans import commitments, draws, plans

from ...draw_world import TODAY, declare_conflict
from .helpers import commit_and_draw, make_plan


def test_commit_freezes_the_registry_as_it_stands(session, world, registry):
    declare_conflict(session, registry["inspectors"][0], registry["entities"][1])
    plan = make_plan(session, world, registry)
    commitment = plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=TODAY)
    files = commitments.commitment_files(commitment)
    parsed = srdp_bundle.parse_bundle(files)  # canonical files, or this raises
    live = [e for e in registry["entities"] if e.status == "存续"]
    assert len(parsed.entities) == len(live) == 36
    line = next(
        line
        for line in files["entities.tsv"].decode().splitlines()
        if line.startswith(live[0].uscc)
    )
    assert line == f"{live[0].uscc}\tX\t{live[0].region_code}"  # no class yet: stratum X
    assert [x.reason for x in parsed.exclusions] == ["CONFLICT"]
    assert commitment.snapshot == srdp_bundle.snapshot(srdp_bundle.sha256sums(files))
    assert plan.status == "committed"
    summary = json.loads(commitment.summary)
    assert summary["eligible"] == 36 and summary["drawn"] == 18
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "plans.commit")).one()
    assert commitment.snapshot in entry.after
    with pytest.raises(Conflict):
        plans.update(session, actor=world["admin_a"], plan_id=plan.id, raw={"title": "改"})


def test_a_plan_that_cannot_be_staffed_is_refused_per_department_and_region(
    session, world, registry
):
    plan = make_plan(session, world, registry, workload_cap=1, region_rule="same")
    with pytest.raises(Invalid) as exc:
        plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=TODAY)
    problems = exc.value.errors["capacity"]
    assert any(p.startswith("DEPT-A：需要 36 人次，可用 8 人次") for p in problems)
    assert plan.status == "draft"
    assert not plans.commitments(session, plan)


def test_region_shortfall_is_named(session, world, registry):
    for inspector in registry["inspectors"]:
        inspector.region_code = "131002"
    session.flush()
    plan = make_plan(session, world, registry, region_rule="different", workload_cap=30)
    with pytest.raises(Invalid) as exc:
        plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=TODAY)
    assert exc.value.errors["capacity"] == [
        "DEPT-A，区域 131002：异地规则下只有 0 名可派人员，每组需要 2 名"
    ]


def test_server_secret_is_committed_then_revealed(session, world, registry):
    randomness = [
        {"label": "dice", "kind": "digits", "min_len": 20},
        {"label": "srv", "kind": "server"},
    ]
    plan = make_plan(session, world, registry, randomness=randomness)
    commitment, draw = commit_and_draw(session, world, plan)
    plan_json = json.loads(commitment.plan_json)
    assert plan_json["randomness"][1]["sha256"] == commitment.server_secret_sha256
    manifest = json.loads(draw.manifest)
    assert manifest["randomness"][1]["value"] == commitment.server_secret


def test_a_plan_with_nobody_eligible_commits_and_draws_nothing(session, world, registry):
    plan = make_plan(session, world, registry, scope={"region_prefixes": ["6501"]})
    _, draw = commit_and_draw(session, world, plan)
    assert json.loads(draw.summary)["drawn"] == 0
    assert draws.public_manifest(session, draw, TODAY)["drawn"] == 0


def test_large_values_are_stored_with_lz4_where_postgresql_has_it(session):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("TOAST compression is PostgreSQL's")
    methods = session.execute(
        text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    if "lz4" not in methods:
        pytest.skip("this PostgreSQL was built without lz4")
    found = dict(
        session.execute(
            text(
                "SELECT attname, attcompression FROM pg_attribute "
                "WHERE attrelid = 'plan_commitments'::regclass AND attname LIKE '%tsv'"
            )
        ).all()
    )
    assert found == {"entities_tsv": "l", "inspectors_tsv": "l", "exclusions_tsv": "l"}
