"""Answers to a joint plan's request at the same moment as each other, or as the commitment:
each takes its turn, none fails with a database error, and the outcome is consistent.

Runs on a scratch database with real, separately committed transactions (the usual rolled-back
test transaction cannot show a race).
"""

from __future__ import annotations

import threading

from alembic import command
from sqlalchemy import select

from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import AuditEntry, Database, Plan, PlanParticipation, User, make_engine
from shuangsuiji.db.states import Role
from shuangsuiji.errors import AppError
from shuangsuiji.services.plans import participation, plans

from ... import factories
from ...draw_world import TODAY, plan_values, populate


def _joint_world(db):
    with db.transaction() as session:
        factories.bind(session)
        lead = factories.DepartmentFactory(code="DEPT-A")
        part = factories.DepartmentFactory(code="DEPT-B")
        admin_a = factories.UserFactory(username="admin_a", role=Role.DEPT_ADMIN, department=lead)
        admin_b = factories.UserFactory(username="admin_b", role=Role.DEPT_ADMIN, department=part)
        registry = populate(session, lead)
        populate(session, part, entities=0, inspectors=6, cert_prefix="88")
        plan = plans.create(
            session,
            actor=admin_a,
            department_id=lead.id,
            raw=plan_values(slots=["DEPT-A", "DEPT-B"], matter_ids=[registry["matter"].id]),
        )
        ids = {"plan": plan.id, "part": part.id, "admin_a": admin_a.id, "admin_b": admin_b.id}
    factories.bind(None)
    return ids


def _race(*actions) -> list[str]:
    """Run the actions at once, each in its own transaction; what each ended with."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = [""] * len(actions)

    def run(i, action) -> None:
        barrier.wait()
        try:
            outcomes[i] = action()
        except AppError as exc:
            outcomes[i] = f"refused: {exc.message}"
        except Exception as exc:  # a database error: what must not happen
            outcomes[i] = f"error: {exc!r}"

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_an_accept_and_a_decline_at_once_both_take_their_turn(scratch_url):
    command.upgrade(alembic_config(scratch_url), "head")
    engine = make_engine(scratch_url)
    db = Database(engine)
    ids = _joint_world(db)

    def answer(accept: bool):
        def action() -> str:
            with db.transaction() as session:
                row = participation.decide(
                    session,
                    actor=session.get(User, ids["admin_b"]),
                    plan_id=ids["plan"],
                    department_id=ids["part"],
                    accept=accept,
                    reason=None if accept else "人员不足",
                )
                return row.status

        return action

    outcomes = _race(answer(True), answer(False), answer(True), answer(False))
    with db.transaction(write=False) as session:
        row = session.scalar(select(PlanParticipation))
        last = session.scalar(
            select(AuditEntry)
            .where(AuditEntry.action.like("plans.participation.%"))
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        )
        final, recorded = row.status, last.action
    engine.dispose()
    assert sorted(outcomes) == ["accepted", "accepted", "declined", "declined"], outcomes
    assert recorded == f"plans.participation.{'accept' if final == 'accepted' else 'decline'}"


def test_a_decline_racing_the_commitment_never_leaves_a_committed_declined_plan(scratch_url):
    command.upgrade(alembic_config(scratch_url), "head")
    engine = make_engine(scratch_url)
    db = Database(engine)
    ids = _joint_world(db)
    with db.transaction() as session:
        participation.decide(
            session,
            actor=session.get(User, ids["admin_b"]),
            plan_id=ids["plan"],
            department_id=ids["part"],
            accept=True,
        )

    def commit() -> str:
        with db.transaction() as session:
            plans.commit(
                session, actor=session.get(User, ids["admin_a"]), plan_id=ids["plan"], today=TODAY
            )
            return "committed"

    def decline() -> str:
        with db.transaction() as session:
            participation.decide(
                session,
                actor=session.get(User, ids["admin_b"]),
                plan_id=ids["plan"],
                department_id=ids["part"],
                accept=False,
                reason="临时撤回",
            )
            return "declined"

    outcomes = _race(commit, decline)
    with db.transaction(write=False) as session:
        status = session.get(Plan, ids["plan"]).status
        answer = session.scalar(select(PlanParticipation.status))
    engine.dispose()
    assert not any(o.startswith("error") for o in outcomes), outcomes
    assert outcomes.count("committed") + outcomes.count("declined") == 1, outcomes
    if status == "committed":
        assert answer == "accepted"
    else:
        assert (status, answer) == ("draft", "declined")
