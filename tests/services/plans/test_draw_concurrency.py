"""Two clerks press 开始抽取 at the same moment: one draw, one clear refusal.

Runs on a scratch database with real, separately committed transactions (the usual rolled-back
test transaction cannot show a race).
"""

from __future__ import annotations

import threading

from alembic import command
from sqlalchemy import func, select

from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import Database, Draw, User, make_engine
from shuangsuiji.errors import Conflict
from shuangsuiji.services.plans import draws, plans

from ... import factories
from ...draw_world import DICE, TODAY, plan_values, populate


def test_two_simultaneous_draws_make_one(scratch_url):
    command.upgrade(alembic_config(scratch_url), "head")
    engine = make_engine(scratch_url)
    db = Database(engine)
    with db.transaction() as session:
        factories.bind(session)
        dept = factories.DepartmentFactory(code="DEPT-A")
        admin = factories.UserFactory(username="admin_a", role="dept_admin", department=dept)
        registry = populate(session, dept)
        plan = plans.create(
            session,
            actor=admin,
            department_id=dept.id,
            raw=plan_values(matter_ids=[registry["matter"].id]),
        )
        commitment = plans.commit(session, actor=admin, plan_id=plan.id, today=TODAY)
        admin_id, commitment_id = admin.id, commitment.id
    factories.bind(None)

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
