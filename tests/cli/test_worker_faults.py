"""The worker as a real process under faults: a task that kills its process ends failed after
WORKER_MAX_ATTEMPTS instead of being requeued forever; with its database connections
terminated (PostgreSQL's pg_terminate_backend) the worker backs off, resumes and completes
its tasks; a task silent for long is kept fresh by its worker's heartbeat.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from alembic import command
from sqlalchemy import text

from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import Database, Task, make_engine
from shuangsuiji.services.platform import tasks
from shuangsuiji.worker import Worker
from shuangsuiji.worker.handlers import HANDLERS, handler

from ..processes import cli_env, wait_for

WORKER = [
    sys.executable,
    "-c",
    "import tests.cli.fault_tasks; from shuangsuiji.cli import run; run()",
    "worker",
    "run",
]
on_postgresql = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="pg_terminate_backend is PostgreSQL's"
)


@pytest.fixture
def scratch(scratch_url):
    command.upgrade(alembic_config(scratch_url), "head")
    engine = make_engine(scratch_url)
    yield scratch_url, Database(engine), engine
    engine.dispose()


def _queue(db, kind: str, params: dict | None = None) -> int:
    with db.transaction() as session:
        task = Task(kind=kind, params=json.dumps(params or {}), message="排队中")
        session.add(task)
        session.flush()
        return task.id


def _task(db, task_id: int) -> Task:
    with db.transaction(write=False) as session:
        return session.get(Task, task_id)


def test_a_task_that_kills_its_worker_fails_after_the_attempt_cap(scratch):
    url, db, _ = scratch
    task_id = _queue(db, "test.fatal")
    env = cli_env(url, WORKER_STALE_MINUTES=0, WORKER_MAX_ATTEMPTS=2)

    def worker_once():
        return subprocess.run([*WORKER, "--once"], env=env, capture_output=True, timeout=120)

    for attempt in (1, 2):  # each start runs the task, which kills the process
        assert worker_once().returncode == -signal.SIGKILL
        task = _task(db, task_id)
        assert (task.status, task.attempts) == ("running", attempt)
    last = worker_once()  # the next worker finds it stale at the cap: failed, not requeued
    assert last.returncode == 0, last.stderr.decode()
    task = _task(db, task_id)
    assert (task.status, task.attempts) == ("failed", 2)
    assert "意外中断" in task.error and "已尝试 2 次" in task.error


@on_postgresql
def test_the_worker_rides_out_terminated_connections(scratch, tmp_path):
    url, db, engine = scratch
    log_path = tmp_path / "worker.log"
    env = cli_env(
        url, WORKER_POLL_SECONDS=0.2, OUTAGE_BACKOFF_SECONDS=0.2, OUTAGE_BACKOFF_MAX_SECONDS=1
    )
    with log_path.open("wb") as log_file:
        worker = subprocess.Popen(WORKER, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        first = _queue(db, "audit.verify")
        assert wait_for(lambda: _task(db, first).status == "done"), log_path.read_text()

        def terminate_others(query_like: str = "%", lock_waits_only: bool = False) -> int:
            """Terminate the worker's connections (those waiting on a lock, or running a
            statement like `query_like`); how many."""
            with engine.connect() as probe:
                return probe.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        " AND query ILIKE :like"
                        " AND (NOT :lock_waits_only OR wait_event_type = 'Lock')"
                    ),
                    {"like": query_like, "lock_waits_only": lock_waits_only},
                )

        # 1. Between tasks: its claim waits on a lock, and its connection is terminated there.
        with engine.connect() as blocker:
            blocker.begin()
            blocker.execute(text("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE"))
            assert wait_for(lambda: terminate_others(lock_waits_only=True) > 0), (
                log_path.read_text()
            )
            blocker.rollback()
        second = _queue(db, "audit.verify")
        assert wait_for(lambda: _task(db, second).status == "done"), log_path.read_text()

        # 2. In a task: the connection running its statement is terminated; the task goes
        # back to the queue and its next run completes.
        marker = tmp_path / "ran-once"
        third = _queue(db, "test.sleep_once", {"marker": str(marker)})
        assert wait_for(lambda: terminate_others("%pg_sleep%") > 0), log_path.read_text()
        assert wait_for(lambda: _task(db, third).status == "done"), log_path.read_text()
        task = _task(db, third)
        assert task.attempts == 2 and json.loads(task.result) == {"first": False}

        assert worker.poll() is None, "the worker died"
        output = log_path.read_text()
        assert "database unavailable" in output and "resumed after" in output
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert worker.returncode == 0


def test_a_task_that_reports_no_progress_for_long_is_not_taken_for_stale(scratch, app, monkeypatch):
    """Its worker's heartbeat thread keeps it fresh: another worker's housekeeping must not
    hand it back (and run it a second time) while it is still running."""
    _, db, _ = scratch

    def quiet(ctx):
        time.sleep(1.0)  # one long step, no progress report
        with ctx.db.transaction() as session:
            stale = tasks.requeue_stale(
                session, older_than=dt.timedelta(seconds=0.5), max_attempts=3
            )
        return {"handed_back": stale}

    monkeypatch.setitem(tasks.LABELS, "test.quiet", "长时间无进度的任务")
    handler("test.quiet")(quiet)
    try:
        task_id = _queue(db, "test.quiet")
        Worker(db, {**app.config, "WORKER_HEARTBEAT_SECONDS": 0.1}).run_one(task_id)
    finally:
        HANDLERS.pop("test.quiet")
    task = _task(db, task_id)
    assert (task.status, json.loads(task.result)) == ("done", {"handed_back": 0})
