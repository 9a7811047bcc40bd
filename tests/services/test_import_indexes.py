"""A bulk import leaves its list's plain indexes to be built after its commit, concurrently
(PostgreSQL). On a database of its own: CREATE INDEX CONCURRENTLY cannot run inside the
rolled-back transaction the other tests run in."""

from __future__ import annotations

import io

import pytest
from alembic import command
from sqlalchemy import text

from shuangsuiji.app import create_app
from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import Database, Entity, ImportJob, User, make_engine
from shuangsuiji.services import imports
from shuangsuiji.worker import Worker

from .. import factories
from .test_imports import HEADER, code

INDEXES = sorted(i.name for i in Entity.__table__.indexes)


def validity(db: Database) -> dict[str, bool]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.relname, i.indisvalid FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = CAST('entities' AS regclass) AND NOT i.indisunique"
            )
        )
        return dict(rows.all())


@pytest.fixture
def world(scratch_url, tmp_path):
    if not scratch_url.startswith("postgresql"):
        pytest.skip("indexes are set aside and built concurrently on PostgreSQL only")
    command.upgrade(alembic_config(scratch_url), "head")
    engine = make_engine(scratch_url)
    db = Database(engine)
    app = create_app(
        {
            "ENV": "testing",
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "EXPORT_DIR": str(tmp_path / "exports"),
            "IMPORT_REBUILD_MIN_ROWS": 2,
        },
        database=db,
    )
    with db.transaction() as session:
        factories.bind(session)
        dept = factories.DepartmentFactory(code="DEPT-A")
        admin = factories.UserFactory(username="admin_a", role="dept_admin", department=dept)
        ids = {"dept": dept.id, "admin": admin.id}
    factories.bind(None)
    yield db, app, ids
    engine.dispose()


def test_bulk_import_commits_then_builds_its_indexes_and_housekeeping_repairs_them(world):
    db, app, ids = world
    worker = Worker(db, app.config, name="test")
    rows = "".join(f"{code(i)},香河县测试商贸有限公司{i},131024,存续,A\n" for i in range(50))
    with db.transaction() as session:
        admin = session.get(User, ids["admin"])
        job = imports.create(
            session,
            actor=admin,
            department_id=ids["dept"],
            kind="entities",
            filename="对象.csv",
            source=io.BytesIO((HEADER + rows).encode()),
            config=app.config,
        )
        job_id, task_id = job.id, job.task_id
    worker.run_one(task_id)
    with db.transaction() as session:
        task_id = imports.confirm(
            session, actor=session.get(User, ids["admin"]), import_id=job_id
        ).task_id
    worker.run_one(task_id)
    with db.transaction(write=False) as session:
        job = session.get(ImportJob, job_id)
        assert (job.status, job.inserted) == ("done", 50)
    assert validity(db) == dict.fromkeys(INDEXES, True)

    # A build that died half-way leaves its index INVALID; another never started.
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE pg_index SET indisvalid = false "
                "WHERE indexrelid = CAST('ix_entities_name_bigrams' AS regclass)"
            )
        )
        connection.execute(text("DROP INDEX ix_entities_department_id_risk_class"))
    # Another process building: housekeeping leaves it to that one.
    with db.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": imports._PG_INDEX_LOCK_KEY})
        assert imports.build_indexes(db, wait=False) == []
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": imports._PG_INDEX_LOCK_KEY})
        other.commit()
    worker.housekeeping()
    assert validity(db) == dict.fromkeys(INDEXES, True)
