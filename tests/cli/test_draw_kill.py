"""A worker killed with SIGKILL in the middle of storing a draw leaves nothing partial; the next
worker hands the task back and draws it, and the stored draw checks out against its bundle.

PostgreSQL only: the test holds a lock on draw_entities so the worker is caught between writing
the draw row and its entities, and then kills it there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select, text

from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import Database, Draw, Plan, Task, make_engine
from shuangsuiji.db.states import Role
from shuangsuiji.domain import verify
from shuangsuiji.services.plans import draws, plans

from .. import draw_world, factories

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from shuangsuiji.cli import run; run()"]

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


def _env(url: str, **extra) -> dict:
    env = dict(os.environ)
    env.update(
        SHUANGSUIJI_ENV="testing",
        SHUANGSUIJI_DATABASE_URL=url,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        **extra,
    )
    env.pop("TEST_DATABASE_URL", None)
    return env


def _wait_for(predicate, timeout=60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_draw_killed_while_storing_leaves_nothing_and_is_drawn_again(queued, tmp_path):
    url, db, engine, (plan_id, task_id) = queued
    blocker = engine.connect()
    blocker.begin()
    blocker.execute(text("LOCK TABLE draw_entities IN SHARE MODE"))
    worker = subprocess.Popen(
        [*CLI, "worker", "run"],
        env=_env(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def waiting_on_the_lock() -> bool:
            with engine.connect() as probe:
                return bool(
                    probe.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                            " AND query ILIKE '%draw_entities%' AND pid <> pg_backend_pid()"
                        )
                    )
                )

        assert _wait_for(waiting_on_the_lock), "the worker never reached the draw's entities"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
        blocker.rollback()
        blocker.close()

    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Draw)) == 0
        assert session.get(Plan, plan_id).status == "committed"
        assert session.get(Task, task_id).status == "running"  # until a worker hands it back

    again = subprocess.run(
        [*CLI, "worker", "run", "--once"],
        env=_env(url, SHUANGSUIJI_WORKER_STALE_MINUTES="0"),
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
