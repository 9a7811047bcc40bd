"""Plans and draws in the services: validation, commitment, capacity, draw, replacement, redraw."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select, text

from shuangsuiji.db import AuditEntry, DrawAssignment, DrawEntity, Entity
from shuangsuiji.domain import bundle as srdp_bundle
from shuangsuiji.domain import verify
from shuangsuiji.errors import Conflict, Forbidden, Invalid, NotFound
from shuangsuiji.services.plans import draws, plans

from ...draw_world import DICE, TODAY, declare_conflict, plan_values, populate


@pytest.fixture
def registry(session, world):
    return populate(session, world["a"])


def make_plan(session, world, registry, **overrides):
    values = plan_values(matter_ids=[registry["matter"].id], **overrides)
    return plans.create(session, actor=world["admin_a"], department_id=world["a"].id, raw=values)


def commit_and_draw(session, world, plan, randomness=DICE):
    commitment = plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=TODAY)
    return commitment, draws.execute(
        session, actor=world["admin_a"], commitment_id=commitment.id, randomness=randomness
    )


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_plan_validation_names_every_problem(session, world, registry):
    bad = plan_values(
        code="坏 编号",
        slots=["DEPT-A"],
        strata={"A": {"ratio": "150%"}},
        randomness=[{"label": "srv", "kind": "server"}],
        fieldwork_start="2026-12-10",
        fieldwork_end="2026-12-01",
    )
    with pytest.raises(Invalid) as exc:
        plans.create(session, actor=world["admin_a"], department_id=world["a"].id, raw=bad)
    errors = exc.value.errors
    assert set(errors) >= {"code", "slots", "strata", "randomness", "fieldwork_end"}
    assert any("两名" in m for m in errors["slots"])
    assert any("唯一随机源" in m for m in errors["randomness"])
    assert any("B 类" in m for m in errors["strata"])  # missing classes are named


def test_only_the_departments_admin_creates_and_commits(session, world, registry):
    with pytest.raises(Forbidden):
        plans.create(session, actor=world["insp_a"], department_id=world["a"].id, raw=plan_values())
    plan = make_plan(session, world, registry)
    with pytest.raises(NotFound):
        plans.commit(session, actor=world["admin_b"], plan_id=plan.id, today=TODAY)
    with pytest.raises(Forbidden):
        plans.commit(session, actor=world["auditor"], plan_id=plan.id, today=TODAY)


def test_commit_freezes_the_registry_as_it_stands(session, world, registry):
    declare_conflict(session, registry["inspectors"][0], registry["entities"][1])
    plan = make_plan(session, world, registry)
    commitment = plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=TODAY)
    files = plans.commitment_files(commitment)
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
    assert ids == [plans.inspector_key(staff[i].id) for i in (4, 6)]


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


def test_update_stores_strata_slots_and_randomness_as_json(session, world, registry):
    plan = make_plan(session, world, registry)
    plans.update(
        session,
        actor=world["admin_a"],
        plan_id=plan.id,
        raw={"strata": plans.preset_strata("henan"), "slots": ["*", "*", "*"]},
    )
    cfg = plans.config(plan)
    assert cfg["strata"]["D"] == {"ratio": "0.3"} and cfg["slots"] == ["*", "*", "*"]


def test_inspector_account_link_rules(session, world, registry):
    from shuangsuiji.services.registry import records as registry_service

    inspector = registry["inspectors"][0]
    link = registry_service.link_account
    with pytest.raises(Invalid):  # another department's account
        link(session, actor=world["admin_a"], inspector_id=inspector.id, user_id=world["insp_b"].id)
    with pytest.raises(Invalid):  # not an inspector account
        link(
            session, actor=world["admin_a"], inspector_id=inspector.id, user_id=world["admin_a"].id
        )
    with pytest.raises(NotFound):  # not the admin's department
        link(session, actor=world["admin_b"], inspector_id=inspector.id, user_id=world["insp_a"].id)
    link(session, actor=world["admin_a"], inspector_id=inspector.id, user_id=world["insp_a"].id)
    assert inspector.user_id == world["insp_a"].id
    with pytest.raises(Conflict):
        link(
            session,
            actor=world["admin_a"],
            inspector_id=registry["inspectors"][1].id,
            user_id=world["insp_a"].id,
        )
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "inspectors.link_account")
    ).one()
    assert json.loads(entry.after)["user_id"] == world["insp_a"].id


def test_department_codes_fit_the_draw_bundle(session, world):
    from shuangsuiji.services.accounts import departments

    values = {
        "code": "廊坊 局",
        "name": "测试局",
        "kind": "市场监管",
        "level": "province",
        "region_code": "130000",
    }
    with pytest.raises(Invalid) as exc:
        departments.create(session, actor=world["sysadmin"], values=values)
    assert "code" in exc.value.errors


@pytest.mark.parametrize("ratio", ["NaN", "sNaN", "Infinity", "abc%", "1E-50"])
def test_ratios_that_are_not_ratios_are_named(session, world, registry, ratio):
    with pytest.raises(Invalid) as exc:
        make_plan(session, world, registry, strata={c: {"ratio": ratio} for c in "ABCDX"})
    assert "strata" in exc.value.errors


def test_a_matter_id_that_is_not_a_number_is_an_error(session, world, registry):
    with pytest.raises(Invalid) as exc:
        plans.create(
            session,
            actor=world["admin_a"],
            department_id=world["a"].id,
            raw=plan_values(matter_ids=[str(registry["matter"].id), "abc"]),
        )
    assert "matter_ids" in exc.value.errors


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
