"""Joint plans (跨部门联合抽查): the lead department draws the entities once, every team has the
slots of each department, each participating department sees its own part, the visit (notice)
covers every department's matters."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from shuangsuiji.db import AuditEntry, Inspector
from shuangsuiji.db.states import Role
from shuangsuiji.errors import Forbidden, Invalid, NotFound
from shuangsuiji.scheduler import batch_jobs
from shuangsuiji.services.plans import (
    commitments,
    draws,
    eligibility,
    participation,
    plans,
)
from shuangsuiji.services.results import deadlines, results

from ... import factories
from ...draw_world import DICE, TODAY, declare_conflict, plan_values, populate
from ...recur_world import TIMING, active_plan, beijing


@pytest.fixture
def joint(session, world):
    """Department A leads, department B (with six inspectors and its own matter) takes part;
    B's inspector user is linked to B's first inspector. Department C stands aside."""
    lead = populate(session, world["a"])
    part = populate(session, world["b"], entities=0, inspectors=6, cert_prefix="88")
    part["inspectors"][0].user_id = world["insp_b"].id
    dept_c = factories.DepartmentFactory(code="DEPT-C")
    admin_c = factories.UserFactory(username="admin_c", role=Role.DEPT_ADMIN, department=dept_c)
    session.flush()
    return {"lead": lead, "part": part, "c": dept_c, "admin_c": admin_c}


def _joint_plan(session, world, joint, *, accepted=True, **overrides):
    """Department A's joint plan with B; B's administrator accepts it unless told not to."""
    values = plan_values(
        **{
            "slots": ["DEPT-A", "DEPT-B"],
            "matter_ids": [joint["lead"]["matter"].id, joint["part"]["matter"].id],
        }
        | overrides
    )
    plan = plans.create(session, actor=world["admin_a"], department_id=world["a"].id, raw=values)
    if accepted:
        participation.decide(
            session,
            actor=world["admin_b"],
            plan_id=plan.id,
            department_id=world["b"].id,
            accept=True,
        )
    return plan


def _drawn(session, world, joint):
    plan = _joint_plan(session, world, joint)
    commitment = plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=TODAY)
    draw = draws.execute(
        session, actor=world["admin_a"], commitment_id=commitment.id, randomness=DICE
    )
    return plan, commitment, draw


def test_the_participants_are_the_departments_of_the_slots(session, world, joint):
    plan = _joint_plan(session, world, joint)
    assert [d.code for d in plan.participants] == ["DEPT-B"]
    assert [m.code for m in plan.matters] == ["M-DEPT-A", "M-DEPT-B"]  # the lead's first
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "plans.create"))
    assert json.loads(entry.after)["participants"] == ["DEPT-B"]
    # Dropping B's slot drops B from the plan, and B's matter must go with it.
    with pytest.raises(Invalid) as exc:
        plans.update(
            session, actor=world["admin_a"], plan_id=plan.id, raw={"slots": ["DEPT-A"] * 2}
        )
    assert "matter_ids" in exc.value.errors
    plans.update(
        session,
        actor=world["admin_a"],
        plan_id=plan.id,
        raw={"slots": ["DEPT-A"] * 2, "matter_ids": [joint["lead"]["matter"].id]},
    )
    assert plan.participants == []


def test_a_matter_of_a_department_outside_the_plan_is_refused(session, world, joint):
    other = populate(session, joint["c"], entities=0, inspectors=0)
    with pytest.raises(Invalid) as exc:
        _joint_plan(
            session,
            world,
            joint,
            code="BAD",
            matter_ids=[joint["lead"]["matter"].id, other["matter"].id],
        )
    assert "配合部门" in exc.value.errors["matter_ids"][0]


def test_one_draw_staffs_every_team_with_both_departments(session, world, joint):
    plan, commitment, draw = _drawn(session, world, joint)
    summary = json.loads(draw.summary)
    assert summary["drawn"] > 0 and summary["unstaffed"] == 0
    rows = draws.teams(session, draw, limit=1000, viewer=world["admin_a"])
    assert len(rows) == summary["drawn"]
    for row in rows:
        departments = [m.inspector.department_id for m in row.members]
        assert departments == [world["a"].id, world["b"].id]
    assert commitment.inspectors_tsv.count(b"\tDEPT-B\t") == 6


def test_each_participating_department_sees_only_its_part(session, world, joint):
    plan, _, draw = _drawn(session, world, joint)
    admin_b = world["admin_b"]
    assert plans.get(session, admin_b, plan.id) is plan
    assert plan in plans.list_visible(session, admin_b)
    rows = draws.teams(session, draws.get(session, admin_b, draw.id), limit=1000, viewer=admin_b)
    for row in rows:
        lead_slot, own_slot = row.members
        assert lead_slot.hidden and lead_slot.inspector is None
        assert not own_slot.hidden and own_slot.inspector.department_id == world["b"].id
    auditor_rows = draws.teams(session, draw, limit=5, viewer=world["auditor"])
    assert not any(m.hidden for r in auditor_rows for m in r.members)
    # The whole draw (manifest, bundle) and the lead's decisions stay with the lead.
    with pytest.raises(NotFound):
        draws.get(session, admin_b, draw.id, whole=True)
    with pytest.raises(NotFound):
        draws.bundle_zip(session, admin_b, draw.id)
    with pytest.raises(Forbidden):
        plans.update(session, actor=admin_b, plan_id=plan.id, raw={"title": "改"})
    with pytest.raises(Forbidden):
        draws.replace(
            session,
            actor=admin_b,
            draw_id=draw.id,
            position=0,
            slot=1,
            reason="ILLNESS",
            note="病假",
        )
    with pytest.raises(NotFound):
        plans.get(session, joint["admin_c"], plan.id)
    with pytest.raises(NotFound):
        draws.get(session, joint["admin_c"], draw.id)
    assert plan not in plans.list_visible(session, joint["admin_c"])


def test_a_participating_inspector_finds_the_joint_visit_with_all_its_matters(
    session, world, joint
):
    plan, _, draw = _drawn(session, world, joint)
    mine = joint["part"]["inspectors"][0]
    tasks = draws.inspector_tasks(session, world["insp_b"], mine.id)
    assert tasks and {t["plan"].id for t in tasks} == {plan.id}
    position = tasks[0]["row"].drawn.position
    notice = draws.notice(session, world["insp_b"], draw.id, position)
    assert {m.department_id for m in notice["plan"].matters} == {world["a"].id, world["b"].id}
    members = notice["row"].members
    assert {m.inspector.department_id for m in members} == {world["a"].id, world["b"].id}


def test_a_participants_conflict_declared_on_its_own_registry_is_honoured(session, world, joint):
    target = next(e for e in joint["lead"]["entities"] if e.status == "存续")
    twin = factories.EntityFactory(department=world["b"], uscc=target.uscc, name=target.name)
    inspector = joint["part"]["inspectors"][2]
    declare_conflict(session, inspector, twin)
    plan = _joint_plan(session, world, joint)
    commitment = plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=TODAY)
    line = f"{target.uscc}\t{eligibility.inspector_key(inspector.id)}\tCONFLICT\n".encode()
    assert line in commitment.exclusions_tsv


def test_a_joint_monthly_plan_draws_its_batch_for_both_departments(session, db, world, joint):
    plan = active_plan(
        session,
        world["admin_a"],
        world["a"],
        joint["lead"]["matter"],
        slots=["DEPT-A", "DEPT-B"],
        consent_by=[world["admin_b"]],
    )
    session.commit()
    [outcome] = batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 9, 30), timing=TIMING)
    assert outcome.result == "drawn", outcome.error
    draw = draws.get(session, world["admin_b"], outcome.draw_id)
    rows = draws.teams(session, draw, limit=1000, viewer=world["admin_b"])
    assert rows and all(r.members[1].inspector.department_id == world["b"].id for r in rows)
    assert (
        session.scalar(
            select(Inspector).where(Inspector.id == rows[0].members[1].inspector.id)
        ).department_id
        == world["b"].id
    )
    assert plan in plans.list_visible(session, world["admin_b"])


def test_another_departments_draw_counts_toward_the_annual_cap(session, world, joint):
    """No repeated inspection: a firm drawn this year by another department (its own registry
    row, the same USCC) counts toward this plan's per-entity annual cap."""
    live = [e for e in joint["lead"]["entities"] if e.status == "存续"][:6]
    for e in live:
        factories.EntityFactory(department=world["b"], uscc=e.uscc, name=e.name)
    other = plans.create(
        session,
        actor=world["admin_b"],
        department_id=world["b"].id,
        raw=plan_values(
            code="TAX-1",
            slots=["DEPT-B", "DEPT-B"],
            strata={c: {"ratio": "1"} for c in "ABCDX"},
            matter_ids=[joint["part"]["matter"].id],
        ),
    )
    c = plans.commit(session, actor=world["admin_b"], plan_id=other.id, today=TODAY)
    draws.execute(session, actor=world["admin_b"], commitment_id=c.id, randomness=DICE)
    capped = plans.create(
        session,
        actor=world["admin_a"],
        department_id=world["a"].id,
        raw=plan_values(code="CAPPED", annual_cap=1, exclude_open=False),
    )
    inputs = commitments.build_inputs(session, capped, srdp_id="CAPPED", today=TODAY)
    assert inputs.summary["excluded"] == {"annual_cap": 6}
    uncapped = plans.create(
        session,
        actor=world["admin_a"],
        department_id=world["a"].id,
        raw=plan_values(code="OPEN"),
    )
    inputs = commitments.build_inputs(session, uncapped, srdp_id="OPEN", today=TODAY)
    assert inputs.summary["excluded"] == {"open": 6}  # under B's open inspection


# -- results of a joint visit ------------------------------------------------------------------


def _entry(matter):
    return {str(matter.id): {"codes": ["1"], "methods": ["field"], "measures": ["none"]}}


def test_each_department_records_its_own_matters_of_one_visit(session, world, joint):
    plan, _, draw = _drawn(session, world, joint)
    lead_matter, part_matter = joint["lead"]["matter"], joint["part"]["matter"]
    checked = draw.created_at.date()
    today = checked + dt.timedelta(days=1)

    def save(actor, matters):
        return results.save(
            session,
            actor=actor,
            draw_id=draw.id,
            position=0,
            raw={"checked_on": checked.isoformat(), "matters": matters},
            today=today,
        )

    # B's administrator sees and records B's matter only.
    visit = results.get_visit(session, world["admin_b"], draw.id, 0)
    assert [m.id for m in visit.matters] == [part_matter.id]
    assert visit.own_matter_ids == {part_matter.id} and not visit.can_review
    with pytest.raises(Invalid) as exc:
        save(world["admin_b"], _entry(lead_matter))
    assert "由其所属部门录入" in exc.value.errors["matters"][0]
    save(world["admin_b"], _entry(part_matter))
    # The visit is one record: it cannot go to review until A's matter is in too.
    with pytest.raises(Invalid) as exc:
        results.submit(session, actor=world["admin_b"], draw_id=draw.id, position=0)
    assert f"matter_{lead_matter.id}" in exc.value.errors
    # A's administrator sees both matters, records A's, and B's result stays as B entered it.
    visit = results.get_visit(session, world["admin_a"], draw.id, 0)
    assert [m.id for m in visit.matters] == [lead_matter.id, part_matter.id]
    assert visit.own_matter_ids == {lead_matter.id}
    record = save(world["admin_a"], _entry(lead_matter))
    results.submit(session, actor=world["admin_b"], draw_id=draw.id, position=0)
    assert record.status == "submitted"
    assert set(results.get_visit(session, world["admin_a"], draw.id, 0).results) == {
        lead_matter.id,
        part_matter.id,
    }
    # Department C has no part in it: not found, as any other department's draw.
    with pytest.raises(NotFound):
        results.get_visit(session, joint["admin_c"], draw.id, 0)


def test_a_joint_task_is_on_each_departments_dashboard(session, world, joint):
    plan, _, _ = _drawn(session, world, joint)
    rules = deadlines.Rules()
    for actor in (world["admin_a"], world["admin_b"]):
        found = deadlines.tasks_of(session, actor, today=TODAY, rules=rules)
        assert [t.plan.id for t in found] == [plan.id]
    assert deadlines.tasks_of(session, joint["admin_c"], today=TODAY, rules=rules) == []
