"""Draws in the services: the stored draw, randomness, immutability, replacement, redraw,
publication."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from shuangsuiji.db import DrawAssignment, DrawEntity, Entity
from shuangsuiji.domain import verify
from shuangsuiji.errors import Conflict, Invalid, NotFound
from shuangsuiji.services.plans import draws, plans

from ...draw_world import DICE, TODAY, declare_conflict
from .helpers import commit_and_draw, make_plan, unzip


def test_draw_stores_rows_and_a_manifest_that_verifies(session, world, registry):
    declare_conflict(session, registry["inspectors"][0], registry["entities"][1])
    plan = make_plan(session, world, registry)
    commitment, draw = commit_and_draw(session, world, plan)
    assert plan.status == "drawn"
    drawn = session.scalars(select(DrawEntity).where(DrawEntity.draw_id == draw.id)).all()
    assert len(drawn) == 18
    assignments = session.scalars(
        select(DrawAssignment).where(DrawAssignment.draw_id == draw.id)
    ).all()
    assert len(assignments) == 36 and all(a.inspector_id for a in assignments)
    for row in draws.teams(session, draw, limit=100):
        members = [m.inspector.id for m in row.members]
        assert len(set(members)) == 2
        if row.entity.id == registry["entities"][1].id:
            assert registry["inspectors"][0].id not in members
    _, data = draws.bundle_zip(session, world["auditor"], draw.id)
    files = unzip(data)
    manifest = json.loads(files.pop("manifest.json"))
    assert files.pop("SHA256SUMS").decode() == commitment.sha256sums
    assert verify.verify(files, manifest) == []
    assert manifest["seed"] == draw.seed
    assert manifest["randomness"][0]["witnesses"] == ["张三", "李四"]


def test_one_draw_per_commitment(session, world, registry):
    plan = make_plan(session, world, registry)
    commitment, _ = commit_and_draw(session, world, plan)
    with pytest.raises(Conflict):
        draws.request(session, actor=world["admin_a"], plan_id=plan.id, randomness=DICE)
    plan.status = "committed"  # as if the second request had slipped past the status check
    with pytest.raises(Conflict):
        draws.execute(session, actor=world["admin_a"], commitment_id=commitment.id, randomness=DICE)


def test_randomness_is_checked_before_queueing(session, world, registry):
    plan = make_plan(session, world, registry)
    plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=TODAY)
    with pytest.raises(Invalid):
        draws.request(
            session,
            actor=world["admin_a"],
            plan_id=plan.id,
            randomness=[{"label": "dice", "value": "123", "witnesses": ["张三"]}],
        )
    with pytest.raises(Invalid) as exc:
        draws.request(
            session,
            actor=world["admin_a"],
            plan_id=plan.id,
            randomness=[{"label": "dice", "value": "1" * 20, "witnesses": []}],
        )
    assert "witnesses" in exc.value.errors
    task = draws.request(session, actor=world["admin_a"], plan_id=plan.id, randomness=DICE)
    assert task.kind == "draw.run"


def test_draw_records_are_immutable_in_the_database(session, world, registry):
    plan = make_plan(session, world, registry)
    commitment, draw = commit_and_draw(session, world, plan)
    ids = {"draw": draw.id, "commitment": commitment.id}
    for statement in (
        "UPDATE draws SET seed = 'x' WHERE id = :draw",
        "DELETE FROM draw_entities WHERE draw_id = :draw",
        "UPDATE draw_assignments SET inspector_id = NULL WHERE draw_id = :draw",
        "UPDATE plan_commitments SET snapshot = 'x' WHERE id = :commitment",
        "DELETE FROM draws WHERE id = :draw",
    ):
        # The driver's exception type differs (IntegrityError, ProgrammingError, ...).
        with pytest.raises(Exception, match="append-only"), session.begin_nested():  # noqa: PT011
            session.execute(text(statement), ids)


def test_an_entity_or_inspector_a_draw_names_cannot_be_deleted(session, world, registry):
    plan = make_plan(session, world, registry)
    _, draw = commit_and_draw(session, world, plan)
    row = draws.teams(session, draw, limit=1)[0]
    named = {"entity": row.entity.id, "inspector": row.members[0].inspector.id}
    for statement in (
        "DELETE FROM entities WHERE id = :entity",
        "DELETE FROM inspectors WHERE id = :inspector",
    ):
        with pytest.raises(Exception, match="named by a draw"), session.begin_nested():  # noqa: PT011
            session.execute(text(statement), named)
    drawn = set(session.scalars(select(DrawEntity.entity_id).where(DrawEntity.draw_id == draw.id)))
    spare = next(e for e in registry["entities"] if e.id not in drawn)
    session.execute(text("DELETE FROM entities WHERE id = :id"), {"id": spare.id})


def test_replacement_is_recorded_and_verifies(session, world, registry):
    plan = make_plan(session, world, registry)
    _, draw = commit_and_draw(session, world, plan)
    before = draws.teams(session, draw, limit=1)[0]
    withdrawn = before.members[0].inspector
    row = draws.replace(
        session,
        actor=world["admin_a"],
        draw_id=draw.id,
        position=0,
        slot=0,
        reason="CONFLICT",
        note="发现其配偶在该企业任职",
    )
    assert row.n == 1 and row.withdrawn_id == withdrawn.id
    after = draws.teams(session, draw, limit=1)[0]
    assert after.members[0].replaced and after.members[0].inspector.id != withdrawn.id
    assert after.members[1].inspector.id == before.members[1].inspector.id
    _, data = draws.bundle_zip(session, world["auditor"], draw.id)
    files = unzip(data)
    manifest = json.loads(files.pop("manifest.json"))
    files.pop("SHA256SUMS")
    assert [r["reason"] for r in manifest["replacements"]] == ["CONFLICT"]
    assert verify.verify(files, manifest) == []
    with pytest.raises(Invalid):
        draws.replace(
            session,
            actor=world["admin_a"],
            draw_id=draw.id,
            position=0,
            slot=0,
            reason="NOPE",
            note="x",
        )


def test_redraw_supersedes_and_keeps_the_old_draw(session, world, registry):
    plan = make_plan(session, world, registry)
    _, first = commit_and_draw(session, world, plan)
    with pytest.raises(Invalid):
        plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=TODAY)
    again = plans.commit(
        session, actor=world["admin_a"], plan_id=plan.id, today=TODAY, reason="骰子录入错误"
    )
    assert again.srdp_id == f"{plan.code}.r2"
    second = draws.execute(session, actor=world["admin_a"], commitment_id=again.id, randomness=DICE)
    assert second.supersedes_id == first.id and second.reason == "骰子录入错误"
    assert draws.superseded_by(session, first).id == second.id
    assert draws.current_draw(session, plan).id == second.id
    assert session.get(type(first), first.id) is not None  # still there, still readable
    with pytest.raises(Conflict):
        draws.replace(
            session,
            actor=world["admin_a"],
            draw_id=first.id,
            position=0,
            slot=0,
            reason="ILLNESS",
            note="x",
        )


def test_public_manifest_hides_classes_regions_and_inspectors(session, world, registry):
    plan = make_plan(session, world, registry)
    _, draw = commit_and_draw(session, world, plan)
    hidden = draws.public_manifest(session, draw, TODAY)
    assert hidden["published"] is False and "sample" not in hidden and "seed" not in hidden
    plan.publish_mode = "immediate"
    shown = draws.public_manifest(session, draw, TODAY)
    assert shown["seed"] == draw.seed and len(shown["sample"]) == 18
    blob = json.dumps({k: v for k, v in shown.items() if k != "sha256sums"}, ensure_ascii=False)
    for forbidden in ("stratum", "strata", "region", "inspector", "张三", "witnesses"):
        assert forbidden not in blob
    entity = session.get(Entity, draws.teams(session, draw, limit=1)[0].entity.id)
    assert entity.name in blob


def test_inspector_task_list_follows_replacements(session, world, registry):
    plan = make_plan(session, world, registry)
    _, draw = commit_and_draw(session, world, plan)
    row = draws.teams(session, draw, limit=1)[0]
    withdrawn = row.members[0].inspector
    before = draws.inspector_tasks(session, world["admin_a"], withdrawn.id)
    assert any(t["row"].drawn.position == 0 for t in before)
    replacement = draws.replace(
        session,
        actor=world["admin_a"],
        draw_id=draw.id,
        position=0,
        slot=0,
        reason="ILLNESS",
        note="住院",
    )
    after = draws.inspector_tasks(session, world["admin_a"], withdrawn.id)
    assert not any(t["row"].drawn.position == 0 for t in after)
    newcomer = draws.inspector_tasks(session, world["admin_a"], replacement.inspector_id)
    assert any(t["row"].drawn.position == 0 for t in newcomer)
    with pytest.raises(NotFound):
        draws.inspector_tasks(session, world["insp_a"], withdrawn.id)  # not their own
