"""Eligibility: who may go; which entities an open inspection, the cool-down or the cap
take out."""

from __future__ import annotations

import json

from sqlalchemy import select

from shuangsuiji.db import DrawEntity
from shuangsuiji.services.plans import eligibility, plans

from ...draw_world import TODAY
from .helpers import commit_and_draw, make_plan


def test_inspectors_who_may_not_go_are_left_out(session, world, registry):
    staff = registry["inspectors"]
    staff[0].status = "leave"
    staff[1].is_expert = True
    staff[2].cert_valid_until = TODAY.replace(year=2025)
    session.flush()
    plan = make_plan(session, world, registry, required_qualifications="特种设备", workload_cap=20)
    commitment = plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=TODAY)
    summary = json.loads(commitment.summary)
    assert summary["inspectors_left_out"] == {
        "status": 1,
        "expert": 1,
        "certificate": 1,
        "qualification": 3,  # 3, 5 and 7 hold only 食品
    }
    ids = [line.split("\t")[0] for line in commitment.inspectors_tsv.decode().splitlines()]
    # The bundle's canonical order is by key as bytes ("I11" before "I9"), not by database id.
    assert ids == sorted(eligibility.inspector_key(staff[i].id) for i in (4, 6))


def test_open_inspections_and_cooldown_shape_the_next_plan(session, world, registry):
    first = make_plan(session, world, registry, code="PLAN-001")
    _, draw = commit_and_draw(session, world, first)
    drawn = set(session.scalars(select(DrawEntity.uscc).where(DrawEntity.draw_id == draw.id)))
    second = make_plan(session, world, registry, code="PLAN-002", cooldown_months=12)
    commitment = plans.commit(session, actor=world["admin_a"], plan_id=second.id, today=TODAY)
    summary = json.loads(commitment.summary)
    assert summary["excluded"] == {"open": 18}
    listed = {line.split("\t")[0] for line in commitment.entities_tsv.decode().splitlines()}
    assert not listed & drawn
    # Once the first plan is closed its entities are eligible again, but not for the same
    # inspectors within the cool-down.
    plans.close(session, actor=world["admin_a"], plan_id=first.id)
    third = make_plan(session, world, registry, code="PLAN-003", cooldown_months=12)
    commitment = plans.commit(session, actor=world["admin_a"], plan_id=third.id, today=TODAY)
    summary = json.loads(commitment.summary)
    assert summary["eligible"] == 36 and summary["exclusions"] == {"PREVIOUS": 36}


def test_annual_cap_counts_every_plans_draws(session, world, registry):
    first = make_plan(session, world, registry, code="PLAN-001")
    commit_and_draw(session, world, first)
    plans.close(session, actor=world["admin_a"], plan_id=first.id)
    second = make_plan(session, world, registry, code="PLAN-002", annual_cap=1)
    commitment = plans.commit(session, actor=world["admin_a"], plan_id=second.id, today=TODAY)
    assert json.loads(commitment.summary)["excluded"] == {"annual_cap": 18}
