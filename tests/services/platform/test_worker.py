"""The background worker: claim, progress, results, hand-back on SIGTERM, stale recovery."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from shuangsuiji.db import Task, utcnow
from shuangsuiji.services.platform import tasks
from shuangsuiji.worker import Worker


@pytest.fixture
def worker(db, app):
    return Worker(db, app.config, name="test-worker")


@pytest.fixture
def slow_kind():
    """A task kind that reports progress in steps and stops when asked to."""
    seen = []

    @tasks.handler("test.steps", "测试任务")
    def run(ctx):
        for step in range(1, 4):
            ctx.progress(step, 3, f"第 {step} 步")
            seen.append(step)
        return {"steps": len(seen)}

    yield seen
    tasks.HANDLERS.pop("test.steps")
    tasks.LABELS.pop("test.steps")


def test_audit_verify_task_runs_to_done(worker, session, world):
    task = tasks.enqueue(session, kind="audit.verify", params={}, actor=world["auditor"])
    session.commit()
    assert worker.run_one() is True
    session.expire_all()
    done = session.get(Task, task.id)
    assert done.status == "done"
    result = json.loads(done.result)
    assert result["ok"] is True and result["checked"] >= 1


def test_empty_queue(worker):
    assert worker.run_one() is False


def test_progress_is_stored(worker, session, world, slow_kind):
    task = tasks.enqueue(session, kind="test.steps", params={}, actor=world["admin_a"])
    session.commit()
    worker.run_one()
    session.expire_all()
    done = session.get(Task, task.id)
    assert (done.status, done.progress_done, done.progress_total) == ("done", 3, 3)
    assert json.loads(done.result) == {"steps": 3}


def test_sigterm_hands_task_back(worker, session, world, slow_kind):
    task = tasks.enqueue(session, kind="test.steps", params={}, actor=world["admin_a"])
    session.commit()
    worker.stopping.set()  # what the SIGTERM handler does
    worker.run_one()
    session.expire_all()
    back = session.get(Task, task.id)
    assert back.status == "queued" and back.worker is None and back.attempts == 1
    assert slow_kind == []
    worker.stopping.clear()
    worker.run_one()
    session.expire_all()
    assert session.get(Task, task.id).status == "done"


def test_failing_task_reports_without_internals(worker, session, world):
    @tasks.handler("test.boom", "出错的任务")
    def boom(ctx):
        raise RuntimeError("connection string with password")

    try:
        task = tasks.enqueue(session, kind="test.boom", params={}, actor=world["admin_a"])
        session.commit()
        worker.run_one()
    finally:
        tasks.HANDLERS.pop("test.boom")
    session.expire_all()
    failed = session.get(Task, task.id)
    assert failed.status == "failed" and "password" not in failed.error


def test_stale_running_task_is_requeued(session, world):
    task = tasks.enqueue(session, kind="audit.verify", params={}, actor=world["admin_a"])
    tasks.claim(session, worker="dead")
    task.heartbeat_at = utcnow() - dt.timedelta(hours=1)
    session.flush()
    assert tasks.requeue_stale(session, older_than=dt.timedelta(minutes=10)) == 1
    session.expire_all()
    assert session.get(Task, task.id).status == "queued"


def test_task_progress_visible_only_to_its_people(app, session, world):
    from ...conftest import login

    task = tasks.enqueue(
        session, kind="audit.verify", params={}, actor=world["admin_a"], department_id=world["a"].id
    )
    session.commit()
    own, other = app.test_client(), app.test_client()
    login(own, "admin_a")
    login(other, "admin_b")
    assert own.get(f"/api/v1/tasks/{task.id}").get_json()["status"] == "queued"
    assert other.get(f"/api/v1/tasks/{task.id}").status_code == 404
    assert "排队中" in own.get(f"/console/tasks/{task.id}").get_data(as_text=True)
