"""Consent to a joint plan: a department named in another department's plan accepts or
declines before the plan is committed; meanwhile the lead sees counts, not names."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shuangsuiji.db import AuditEntry, PlanParticipation
from shuangsuiji.db.states import Role
from shuangsuiji.errors import Conflict, Forbidden, Invalid, NotFound
from shuangsuiji.scheduler import batch_jobs
from shuangsuiji.services.plans import batches, draws, participation, plans

from ... import factories
from ...draw_world import DICE, TODAY, plan_values, populate
from ...recur_world import TIMING, beijing, recurring_values


@pytest.fixture
def joint(session, world):
    lead = populate(session, world["a"])
    part = populate(session, world["b"], entities=0, inspectors=6, cert_prefix="88")
    part["inspectors"][5].status = "left"
    dept_c = factories.DepartmentFactory(code="DEPT-C")
    admin_c = factories.UserFactory(username="admin_c", role=Role.DEPT_ADMIN, department=dept_c)
    session.flush()
    return {"lead": lead, "part": part, "c": dept_c, "admin_c": admin_c}


def _plan(session, world, joint, **overrides):
    values = plan_values(
        **{"slots": ["DEPT-A", "DEPT-B"], "matter_ids": [joint["lead"]["matter"].id]} | overrides
    )
    return plans.create(session, actor=world["admin_a"], department_id=world["a"].id, raw=values)


def _answer(session, world, plan, *, accept=True, reason=None, actor="admin_b"):
    return participation.decide(
        session,
        actor=world[actor],
        plan_id=plan.id,
        department_id=world["b"].id,
        accept=accept,
        reason=reason,
    )


def _commit(session, world, plan, **kwargs):
    return plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=TODAY, **kwargs)


def test_naming_a_department_asks_it_and_the_plan_waits_for_its_answer(session, world, joint):
    plan = _plan(session, world, joint)
    [row] = participation.of_plan(session, plan)
    assert (row.department_id, row.status) == (world["b"].id, "pending")
    assert participation.requests_for(session, world["admin_b"]) == [row]
    assert participation.requests_for(session, world["admin_a"]) == []
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.action == "plans.participation.request")
    )
    assert entry.department_id == world["b"].id  # in B's own audit trail

    with pytest.raises(Conflict) as refused:
        _commit(session, world, plan)
    assert world["b"].name in refused.value.message and "待确认" in refused.value.message
    assert plans.commitments(session, plan) == []

    _answer(session, world, plan)
    commitment = _commit(session, world, plan)
    draw = draws.execute(
        session, actor=world["admin_a"], commitment_id=commitment.id, randomness=DICE
    )
    assert draw.id


def test_a_plan_of_one_department_needs_no_consent(session, world, joint):
    plan = _plan(session, world, joint, slots=["DEPT-A", "DEPT-A"])
    assert participation.of_plan(session, plan) == []
    assert _commit(session, world, plan).seq == 1


def test_only_the_named_departments_administrator_answers(session, world, joint):
    plan = _plan(session, world, joint)
    with pytest.raises(Forbidden):
        _answer(session, world, plan, actor="admin_a")  # the lead cannot answer for B
    with pytest.raises(Conflict):  # nor answer for itself
        participation.decide(
            session, actor=world["admin_a"], plan_id=plan.id, department_id=world["a"].id,
            accept=True,
        )  # fmt: skip
    with pytest.raises(NotFound):
        participation.decide(
            session, actor=joint["admin_c"], plan_id=plan.id, department_id=world["b"].id,
            accept=True,
        )  # fmt: skip
    with pytest.raises(Forbidden):
        _answer(session, world, plan, actor="insp_b")
    with pytest.raises(NotFound):  # a department the plan does not name
        participation.decide(
            session, actor=joint["admin_c"], plan_id=plan.id, department_id=joint["c"].id,
            accept=True,
        )  # fmt: skip
    assert participation.of_plan(session, plan)[0].status == "pending"


def test_a_declined_plan_is_refused_with_the_reason(session, world, joint):
    plan = _plan(session, world, joint)
    with pytest.raises(Invalid) as no_reason:
        _answer(session, world, plan, accept=False, reason="  ")
    assert "reason" in no_reason.value.errors
    row = _answer(session, world, plan, accept=False, reason="本月人员已全部派出")
    assert (row.status, row.reason, row.decided_by_id) == (
        "declined",
        "本月人员已全部派出",
        world["admin_b"].id,
    )
    with pytest.raises(Conflict) as refused:
        _commit(session, world, plan)
    assert "已拒绝：本月人员已全部派出" in refused.value.message
    assert refused.value.errors["participants"]
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.action == "plans.participation.decline")
    )
    assert entry.actor_id == world["admin_b"].id and entry.department_id == world["b"].id

    _answer(session, world, plan)  # B changes its mind
    assert _commit(session, world, plan).seq == 1
    with pytest.raises(Conflict):  # committed, waiting for its draw: the answer stands
        _answer(session, world, plan, accept=False, reason="晚了")


def test_the_same_answer_twice_records_once(session, world, joint):
    plan = _plan(session, world, joint)
    _answer(session, world, plan)
    _answer(session, world, plan)
    accepted = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "plans.participation.accept")
    ).all()
    assert len(accepted) == 1


def test_an_edited_draft_asks_again_and_a_dropped_department_loses_its_request(
    session, world, joint
):
    plan = _plan(session, world, joint)
    _answer(session, world, plan)
    plans.update(
        session, actor=world["admin_a"], plan_id=plan.id, raw={"slots": ["DEPT-A", "DEPT-B"]}
    )  # nothing changed: the answer stands
    assert participation.of_plan(session, plan)[0].status == "accepted"
    plans.update(
        session,
        actor=world["admin_a"],
        plan_id=plan.id,
        raw={"slots": ["DEPT-A", "DEPT-B", "DEPT-B"]},
    )
    [row] = participation.of_plan(session, plan)
    assert row.status == "pending" and row.decided_at is None
    with pytest.raises(Conflict):
        _commit(session, world, plan)
    _answer(session, world, plan)
    plans.update(session, actor=world["admin_a"], plan_id=plan.id, raw={"title": "改了名称"})
    assert participation.of_plan(session, plan)[0].status == "pending"

    plans.update(
        session, actor=world["admin_a"], plan_id=plan.id, raw={"slots": ["DEPT-A", "DEPT-A"]}
    )
    assert session.scalars(select(PlanParticipation)).all() == []
    assert _commit(session, world, plan).seq == 1


def test_the_lead_sees_how_many_of_the_participants_inspectors_are_eligible(session, world, joint):
    plan = _plan(session, world, joint)

    def counts(viewer):
        return participation.eligible_counts(session, plan, TODAY, viewer=world[viewer])

    assert counts("admin_a") == {world["b"].id: 5} == counts("auditor") == counts("admin_b")
    plans.update(
        session,
        actor=world["admin_a"],
        plan_id=plan.id,
        raw={"slots": ["DEPT-A", "DEPT-B", "DEPT-C"]},
    )
    assert counts("admin_a") == {world["b"].id: 5, joint["c"].id: 0}
    assert counts("admin_b") == {world["b"].id: 5}  # not the other participant's


def test_a_recurring_joint_plan_is_activated_after_consent_and_each_batch_checks_it(
    session, db, world, joint
):
    plan = plans.create(
        session,
        actor=world["admin_a"],
        department_id=world["a"].id,
        raw=recurring_values(matter_ids=[joint["lead"]["matter"].id], slots=["DEPT-A", "DEPT-B"]),
    )
    activate = dict(
        actor=world["admin_a"], plan_id=plan.id, now=beijing(2026, 12, 20, 10, 0), timing=TIMING
    )
    with pytest.raises(Conflict):
        batches.activate(session, **activate)
    _answer(session, world, plan)
    batches.activate(session, **activate)
    # B withdraws while the plan runs: the next batch fails with the reason.
    _answer(session, world, plan, accept=False, reason="机构改革，暂停参加")
    session.commit()
    [outcome] = batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 9, 30), timing=TIMING)
    assert outcome.result == "failed" and "机构改革，暂停参加" in outcome.error
