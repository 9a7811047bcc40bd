"""Two clerks press 开始抽取 at the same moment: one draw, one clear refusal; four draw
requests at the same moment: one queued task (202), three refusals (409).

Runs on a scratch database with real, separately committed transactions (the usual rolled-back
test transaction cannot show a race).
"""

from __future__ import annotations

import threading

import pytest
from alembic import command
from sqlalchemy import func, select

from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import Database, Draw, Task, User, make_engine
from shuangsuiji.db.states import Role
from shuangsuiji.errors import Conflict
from shuangsuiji.services.accounts import tokens
from shuangsuiji.services.plans import draws, plans

from ... import factories
from ...draw_world import DICE, TODAY, plan_values, populate


def _committed_plan(db: Database) -> dict:
    """A committed plan of a fresh department, its administrator and a write token."""
    with db.transaction() as session:
        factories.bind(session)
        dept = factories.DepartmentFactory(code="DEPT-A")
        admin = factories.UserFactory(username="admin_a", role=Role.DEPT_ADMIN, department=dept)
        registry = populate(session, dept)
        plan = plans.create(
            session,
            actor=admin,
            department_id=dept.id,
            raw=plan_values(matter_ids=[registry["matter"].id]),
        )
        commitment = plans.commit(session, actor=admin, plan_id=plan.id, today=TODAY)
        _, secret = tokens.issue(
            session, actor=admin, name="t", scope="write", days=30, max_days=365
        )
        ids = {"admin": admin.id, "plan": plan.id, "commitment": commitment.id, "token": secret}
    factories.bind(None)
    return ids


def test_two_simultaneous_draws_make_one(scratch_url):
    command.upgrade(alembic_config(scratch_url), "head")
    engine = make_engine(scratch_url)
    db = Database(engine)
    ids = _committed_plan(db)
    admin_id, commitment_id = ids["admin"], ids["commitment"]

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def press() -> None:
        barrier.wait()
        try:
            with db.transaction() as session:
                draws.execute(
                    session,
                    actor=session.get(User, admin_id),
                    commitment_id=commitment_id,
                    randomness=DICE,
                )
            outcomes.append("drawn")
        except Conflict as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with db.transaction(write=False) as session:
        count = session.scalar(select(func.count()).select_from(Draw))
    engine.dispose()
    assert count == 1
    assert outcomes.count("drawn") == 1
    refused = [o for o in outcomes if o != "drawn"]
    assert len(refused) == 1 and ("已经抽取" in refused[0] or "不能抽取" in refused[0])


@pytest.mark.parametrize("at_once", [True, False], ids=["at-once", "one-after-another"])
def test_four_draw_requests_queue_one_task(scratch_url, tmp_path, at_once):
    if at_once and not scratch_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: requests cannot overlap (one-after-another covers it)")
    from shuangsuiji.app import create_app

    command.upgrade(alembic_config(scratch_url), "head")
    engine = make_engine(scratch_url)
    db = Database(engine)
    ids = _committed_plan(db)
    app = create_app(
        {"ENV": "testing", "UPLOAD_DIR": str(tmp_path / "u"), "EXPORT_DIR": str(tmp_path / "e")},
        database=db,
    )
    headers = {"Authorization": f"Bearer {ids['token']}"}
    barrier = threading.Barrier(4 if at_once else 1)
    codes: list[int] = []

    def press() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/plans/{ids['plan']}/draws", headers=headers, json={"randomness": DICE}
        )
        codes.append(response.status_code)

    threads = [threading.Thread(target=press) for _ in range(4)]
    for thread in threads:
        thread.start()
        if not at_once:
            thread.join(timeout=60)
    for thread in threads:
        thread.join(timeout=60)
    with db.transaction(write=False) as session:
        queued = session.scalar(
            select(func.count()).select_from(Task).where(Task.kind == "draw.run")
        )
    engine.dispose()
    assert sorted(codes) == [202, 409, 409, 409]
    assert queued == 1
