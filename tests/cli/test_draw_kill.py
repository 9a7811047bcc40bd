"""A worker killed with SIGKILL in the middle of storing a draw leaves nothing partial; the next
worker hands the task back and draws it, and the stored draw checks out against its bundle.

PostgreSQL only: the test holds a lock on draw_entities so the worker is caught between writing
the draw row and its entities, and then kills it there.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from alembic import command
from sqlalchemy import func, select

from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import Database, Draw, Plan, Task, make_engine
from shuangsuiji.db.states import Role
from shuangsuiji.domain import verify
from shuangsuiji.services.plans import draws, plans

from .. import draw_world, factories
from ..processes import CLI, cli_env, kill_worker_waiting_on

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="catching a worker between two writes needs PostgreSQL's table locks",
)


@pytest.fixture
def queued(scratch_url):
    """A scratch database with a committed plan and its draw task queued."""
    command.upgrade(alembic_config(scratch_url), "head")
    engine = make_engine(scratch_url)
    db = Database(engine)
    with db.transaction() as session:
        factories.bind(session)
        dept = factories.DepartmentFactory(code="DEPT-A")
        admin = factories.UserFactory(username="admin_a", role=Role.DEPT_ADMIN, department=dept)
        draw_world.populate(session, dept)
        plan = plans.create(
            session, actor=admin, department_id=dept.id, raw=draw_world.plan_values()
        )
        plans.commit(session, actor=admin, plan_id=plan.id, today=draw_world.TODAY)
        task = draws.request(session, actor=admin, plan_id=plan.id, randomness=draw_world.DICE)
        ids = plan.id, task.id
    factories.bind(None)
    yield scratch_url, db, engine, ids
    engine.dispose()


def test_a_draw_killed_while_storing_leaves_nothing_and_is_drawn_again(queued, tmp_path):
    url, db, engine, (plan_id, task_id) = queued
    kill_worker_waiting_on(engine, cli_env(url), "draw_entities")

    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Draw)) == 0
        assert session.get(Plan, plan_id).status == "committed"
        assert session.get(Task, task_id).status == "running"  # until a worker hands it back

    again = subprocess.run(
        [*CLI, "worker", "run", "--once"],
        env=cli_env(url, WORKER_STALE_MINUTES=0),
        capture_output=True,
        timeout=180,
    )
    assert again.returncode == 0, again.stderr.decode()
    with db.transaction(write=False) as session:
        assert session.get(Task, task_id).status == "done"
        assert session.get(Plan, plan_id).status == "drawn"
        draw = session.scalars(select(Draw)).one()
        auditor = factories.UserFactory.build(role=Role.AUDITOR)
        session.add(auditor)
        session.flush()
        _, data = draws.bundle_zip(session, auditor, draw.id)
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(data)
    files, manifest = verify.read_zip(bundle)
    assert verify.verify(files, manifest) == []
