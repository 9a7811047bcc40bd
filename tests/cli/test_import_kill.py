"""A worker killed with SIGKILL in the middle of applying an import leaves nothing partial: the
list, its indexes and constraints are as before, the batch is still 导入中 and its task is
handed back; the next worker applies it in full.

PostgreSQL only: the test holds a lock on the audit trail, so the worker is caught after it
wrote the rows (and set the list's indexes and constraints aside) and before its commit.
"""

from __future__ import annotations

import io
import os
import subprocess

import pytest
from alembic import command
from sqlalchemy import func, select, text

from shuangsuiji.app import create_app
from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import Database, Entity, ImportJob, Task, User, make_engine
from shuangsuiji.db.states import Role
from shuangsuiji.domain import uscc
from shuangsuiji.services.registry import imports
from shuangsuiji.worker import Worker

from .. import factories
from ..processes import CLI, cli_env, kill_worker_waiting_on

HEADER = "统一社会信用代码,企业名称,行政区划代码,登记状态,信用风险分类\n"

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="catching a worker before its commit needs PostgreSQL's table locks",
)


def _schema(engine) -> set[tuple[str, bool]]:
    with engine.connect() as connection:
        return set(
            connection.execute(
                text(
                    "SELECT c.relname, i.indisvalid FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indexrelid "
                    "WHERE i.indrelid = CAST('entities' AS regclass)"
                )
            ).all()
        ) | {
            (name, True)
            for (name,) in connection.execute(
                text("SELECT conname FROM pg_constraint WHERE conrelid = 'entities'::regclass")
            )
        }


@pytest.fixture
def confirmed(scratch_url, tmp_path):
    """A scratch database with a checked batch of 30 entities confirmed: its apply queued."""
    command.upgrade(alembic_config(scratch_url), "head")
    engine = make_engine(scratch_url)
    db = Database(engine)
    app = create_app(
        {"ENV": "testing", "UPLOAD_DIR": str(tmp_path / "uploads"), "IMPORT_REBUILD_MIN_ROWS": 2},
        database=db,
    )
    with db.transaction() as session:
        factories.bind(session)
        dept = factories.DepartmentFactory(code="DEPT-A")
        admin = factories.UserFactory(username="admin_a", role=Role.DEPT_ADMIN, department=dept)
        ids = {"dept": dept.id, "admin": admin.id}
    factories.bind(None)
    rows = "".join(f"{uscc.make(f'91131024{i:09d}')},公司{i},131024,存续,A\n" for i in range(30))
    with db.transaction() as session:
        job = imports.create(
            session,
            actor=session.get(User, ids["admin"]),
            department_id=ids["dept"],
            kind="entities",
            filename="对象.csv",
            source=io.BytesIO((HEADER + rows).encode()),
            config=app.config,
        )
        job_id, task_id = job.id, job.task_id
    Worker(db, app.config, name="test").run_one(task_id)
    with db.transaction() as session:
        task_id = imports.confirm(
            session, actor=session.get(User, ids["admin"]), import_id=job_id
        ).task_id
    yield scratch_url, db, engine, (job_id, task_id)
    engine.dispose()


def test_an_import_killed_while_applying_leaves_nothing_and_is_applied_again(confirmed):
    url, db, engine, (job_id, task_id) = confirmed
    before = _schema(engine)
    kill_worker_waiting_on(engine, cli_env(url, IMPORT_REBUILD_MIN_ROWS=2), "audit_entries")

    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Entity)) == 0
        assert session.get(ImportJob, job_id).status == "applying"
        assert session.get(Task, task_id).status == "running"  # until a worker hands it back
    # The constraints came back with the rollback; the indexes, dropped concurrently before
    # the transaction, are missing until a worker builds them again.
    assert {c for c in _schema(engine) if not c[0].startswith("ix_")} == {
        c for c in before if not c[0].startswith("ix_")
    }

    again = subprocess.run(
        [*CLI, "worker", "run", "--once"],
        env=cli_env(url, IMPORT_REBUILD_MIN_ROWS=2, WORKER_STALE_MINUTES=0),
        capture_output=True,
        timeout=180,
    )
    assert again.returncode == 0, again.stderr.decode()
    with db.transaction(write=False) as session:
        assert session.get(Task, task_id).status == "done"
        job = session.get(ImportJob, job_id)
        assert (job.status, job.inserted) == ("done", 30)
        assert session.scalar(select(func.count()).select_from(Entity)) == 30
    assert _schema(engine) == before
