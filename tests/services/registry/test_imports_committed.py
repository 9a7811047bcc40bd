"""Imports on PostgreSQL that need real commits, so on a database of their own (the other
tests run inside one rolled-back transaction): a bulk import's indexes, built concurrently after
its commit, and the pool of processes that checks a large file, each process staging through
its own connection."""

from __future__ import annotations

import io
import logging
import threading

import pytest
from alembic import command
from sqlalchemy import func, select, text

from shuangsuiji.app import create_app
from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import Database, Entity, ImportJob, User, make_engine
from shuangsuiji.db.states import Role
from shuangsuiji.services.registry import imports
from shuangsuiji.services.registry.imports import indexes
from shuangsuiji.worker import Worker
from shuangsuiji.worker import imports as import_tasks

from ... import factories
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
            "IMPORT_PROCESSES_MIN_BYTES": 1,  # every file is "large"
            "IMPORT_BATCH_ROWS": 3,
        },
        database=db,
    )
    with db.transaction() as session:
        factories.bind(session)
        dept = factories.DepartmentFactory(code="DEPT-A")
        admin = factories.UserFactory(username="admin_a", role=Role.DEPT_ADMIN, department=dept)
        ids = {"dept": dept.id, "admin": admin.id}
    factories.bind(None)
    yield db, app, ids
    engine.dispose()


def run(world, content: str) -> ImportJob:
    """Upload, validate and apply as admin_a, each step committed; returns the job."""
    db, app, ids = world
    worker = Worker(db, app.config, name="test")
    with db.transaction() as session:
        job = imports.create(
            session,
            actor=session.get(User, ids["admin"]),
            department_id=ids["dept"],
            kind="entities",
            filename="对象.csv",
            source=io.BytesIO(content.encode()),
            config=app.config,
        )
        job_id, task_id = job.id, job.task_id
    worker.run_one(task_id)
    with db.transaction() as session:
        if session.get(ImportJob, job_id).status == "ready":
            task_id = imports.confirm(
                session, actor=session.get(User, ids["admin"]), import_id=job_id
            ).task_id
    worker.run_one(task_id)
    with db.transaction(write=False) as session:
        job = session.get(ImportJob, job_id)
        session.expunge(job)
        return job


def test_a_file_checked_by_a_pool_of_processes_loses_nothing(world, caplog):
    db = world[0]
    rows = [f"{code(i)},公司{i},131024,存续,A\n" for i in range(1, 12)]
    rows[4] = f"{code(5)},公司5,999999,存续,A\n"  # row 6: unknown region
    rows[6] = f"{code(2)},公司2的重复,131024,存续,A\n"  # row 8: duplicate of row 3
    rows[9] = f"{code(5)},公司5改正,131024,存续,B\n"  # row 11: row 6 was refused: not a duplicate
    rows[10] = f"{code(3)},公司3,131024,存续,A\n"  # row 12: duplicate of row 4, in another batch
    with caplog.at_level(logging.INFO, logger="shuangsuiji"):
        job = run(world, HEADER + "".join(rows))
    assert "checked by 2 processes" in caplog.text
    assert (job.status, job.rows_read, job.inserted, job.rejected) == ("done", 11, 8, 3)
    with db.transaction(write=False) as session:
        found = [(r.row_no, r.column, r.reason) for r in imports.rejects(session, job)]
        names = dict(session.execute(select(Entity.uscc, Entity.name)).all())
    assert found == [
        (6, "行政区划代码", "未知的行政区划代码（GB/T 2260）：999999"),
        (8, "统一社会信用代码", "与文件第 3 行重复"),
        (12, "统一社会信用代码", "与文件第 4 行重复"),
    ]
    assert (names[code(2)], names[code(5)]) == ("公司2", "公司5改正")


def test_bulk_import_commits_then_builds_its_indexes_and_housekeeping_repairs_them(world):
    db, app, _ = world
    rows = "".join(f"{code(i)},香河县测试商贸有限公司{i},131024,存续,A\n" for i in range(50))
    job = run(world, HEADER + rows)
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
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": indexes.PG_INDEX_LOCK_KEY})
        assert import_tasks.build_indexes(db, wait=False) == []
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": indexes.PG_INDEX_LOCK_KEY})
        other.commit()
    Worker(db, app.config, name="test").housekeeping()
    assert validity(db) == dict.fromkeys(INDEXES, True)


def test_a_large_import_into_a_larger_list_keeps_its_constraints(world, caplog):
    # 30 new rows into a list of 50: the plain indexes are dropped and built concurrently
    # (no lock on the list), the unique and foreign-key constraints stay in place.
    db = world[0]
    run(world, HEADER + "".join(f"{code(i)},公司{i},131024,存续,A\n" for i in range(50)))
    with caplog.at_level(logging.INFO, logger="shuangsuiji"):
        job = run(
            world, HEADER + "".join(f"{code(i)},公司{i},131024,存续,A\n" for i in range(50, 80))
        )
    assert (job.status, job.inserted) == ("done", 30)
    assert "(indexes rebuilt)" in caplog.text
    assert validity(db) == dict.fromkeys(INDEXES, True)


def upload(world, content: str) -> tuple[int, int]:
    """Upload and validate a file as admin_a and confirm it: (import id, its apply task id)."""
    db, app, ids = world
    with db.transaction() as session:
        job = imports.create(
            session,
            actor=session.get(User, ids["admin"]),
            department_id=ids["dept"],
            kind="entities",
            filename="对象.csv",
            source=io.BytesIO(content.encode()),
            config=app.config,
        )
        job_id, task_id = job.id, job.task_id
    Worker(db, app.config, name="test").run_one(task_id)
    with db.transaction() as session:
        job = imports.confirm(session, actor=session.get(User, ids["admin"]), import_id=job_id)
        return job_id, job.task_id


def test_two_large_imports_into_one_list_at_once_both_finish(world):
    # Each sets the list's indexes aside and builds them concurrently after its commit: the
    # second must not wait for the builders' lock in a way the first one's build waits for.
    db, app, _ = world
    files = [
        HEADER + "".join(f"{code(i)},公司{i},131024,存续,A\n" for i in range(start, start + 40))
        for start in (0, 100)
    ]
    batches = [upload(world, content) for content in files]
    start = threading.Barrier(2)
    errors = []

    def apply(task_id: int) -> None:
        try:
            start.wait()
            Worker(db, app.config, name=f"w{task_id}").run_one(task_id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=apply, args=(task_id,), daemon=True) for _, task_id in batches
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    stuck = [thread for thread in threads if thread.is_alive()]
    assert not stuck and not errors, "an import is stuck waiting for the other"
    with db.transaction(write=False) as session:
        jobs = [session.get(ImportJob, job_id) for job_id, _ in batches]
        assert [(j.status, j.inserted, j.error) for j in jobs] == [("done", 40, None)] * 2
        assert session.scalar(select(func.count()).select_from(Entity)) == 80
    assert validity(db) == dict.fromkeys(INDEXES, True)


def test_a_batch_being_written_cannot_be_cancelled_until_its_transaction_ends(world):
    from shuangsuiji.errors import Conflict

    db, _, ids = world
    job_id, _ = upload(world, HEADER + f"{code(1)},公司1,131024,存续,A\n")
    with db.engine.connect() as applying:  # as apply_staged: the batch's row locked
        applying.execute(
            text("SELECT id FROM import_jobs WHERE id = :id FOR UPDATE"), {"id": job_id}
        )
        with db.transaction() as session, pytest.raises(Conflict, match="正在写入名录"):
            imports.cancel(session, actor=session.get(User, ids["admin"]), import_id=job_id)
        applying.rollback()
    with db.transaction() as session:
        job = imports.cancel(session, actor=session.get(User, ids["admin"]), import_id=job_id)
        assert job.status == "cancelled"
