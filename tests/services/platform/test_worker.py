"""The background worker: claim, progress, results, hand-back on SIGTERM, stale recovery."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

import pytest
from sqlalchemy.exc import OperationalError

from shuangsuiji.db import Task, utcnow
from shuangsuiji.errors import Invalid
from shuangsuiji.services.platform import tasks
from shuangsuiji.worker import Worker
from shuangsuiji.worker.handlers import HANDLERS, handler


@pytest.fixture
def worker(db, app):
    return Worker(db, app.config, name="test-worker")


@pytest.fixture
def kinds(monkeypatch):
    """Declare throw-away task kinds, with their handlers (and failure hooks), for one test."""
    added = []

    def register(kind, func, *, hook=None):
        monkeypatch.setitem(tasks.LABELS, kind, "测试任务")
        handler(kind)(func)
        if hook is not None:
            tasks.on_failure(kind)(hook)
        added.append(kind)

    yield register
    for kind in added:
        HANDLERS.pop(kind, None)
        tasks.FAILURE_HOOKS.pop(kind, None)


@pytest.fixture
def slow_kind(kinds):
    """A task kind that reports progress in steps and stops when asked to."""
    seen = []

    def run(ctx):
        for step in range(1, 4):
            ctx.progress(step, 3, f"第 {step} 步")
            seen.append(step)
        return {"steps": len(seen)}

    kinds("test.steps", run)
    return seen


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


def test_failing_task_reports_without_internals(worker, session, world, kinds):
    def boom(ctx):
        raise RuntimeError("connection string with password")

    kinds("test.boom", boom)
    task = tasks.enqueue(session, kind="test.boom", params={}, actor=world["admin_a"])
    session.commit()
    worker.run_one()
    session.expire_all()
    failed = session.get(Task, task.id)
    assert failed.status == "failed" and "password" not in failed.error


def test_stale_running_task_is_requeued(session, world):
    task = tasks.enqueue(session, kind="audit.verify", params={}, actor=world["admin_a"])
    tasks.claim(session, worker="dead")
    task.heartbeat_at = utcnow() - dt.timedelta(hours=1)
    session.flush()
    assert tasks.requeue_stale(session, older_than=dt.timedelta(minutes=10), max_attempts=3) == 1
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


def _fast(app, **extra):
    return {
        **app.config,
        "OUTAGE_BACKOFF_SECONDS": 0.01,
        "OUTAGE_BACKOFF_MAX_SECONDS": 0.05,
        **extra,
    }


def _blip() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


def _stale(session, task_id):
    session.get(Task, task_id).heartbeat_at = utcnow() - dt.timedelta(hours=1)
    session.flush()


def test_stale_task_at_the_attempt_cap_fails_with_a_reason_and_runs_its_hook(session, world, kinds):
    seen = []
    kinds("test.fragile", lambda ctx: {}, hook=lambda s, task, reason: seen.append(reason))
    task = tasks.enqueue(session, kind="test.fragile", params={}, actor=world["admin_a"])
    for attempt in (1, 2):  # started and died twice: back in the queue each time
        tasks.claim(session, worker="dying")
        _stale(session, task.id)
        assert tasks.requeue_stale(session, older_than=dt.timedelta(minutes=10), max_attempts=3)
        assert (task.status, task.attempts) == ("queued", attempt)
    tasks.claim(session, worker="dying")
    _stale(session, task.id)
    assert tasks.requeue_stale(session, older_than=dt.timedelta(minutes=10), max_attempts=3) == 1
    session.expire_all()
    failed = session.get(Task, task.id)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert "意外中断" in failed.error and "已尝试 3 次" in failed.error
    assert seen == [failed.error]
    # and it stays failed: nothing claims it again
    assert tasks.claim(session, worker="next") is None


def test_a_failure_hook_that_raises_still_leaves_the_task_failed(session, world, kinds):
    def broken_hook(s, task, reason):
        raise RuntimeError("hook bug")

    kinds("test.hooked", lambda ctx: {}, hook=broken_hook)
    task = tasks.enqueue(session, kind="test.hooked", params={}, actor=world["admin_a"])
    tasks.claim(session, worker="w")
    tasks.fail(session, task.id, "失败原因")
    session.expire_all()
    assert session.get(Task, task.id).status == "failed"


def test_a_raising_handler_fails_its_task_and_the_loop_goes_on(app, db, session, world, kinds):
    hooked = []

    def boom(ctx):
        raise Invalid("文件第 3 行无法读取")

    kinds("test.invalid", boom, hook=lambda s, task, reason: hooked.append(task.id))
    kinds("test.exit", lambda ctx: sys.exit(3))
    kinds("test.ok", lambda ctx: {"ok": True})
    bad = tasks.enqueue(session, kind="test.invalid", params={}, actor=world["admin_a"])
    gone = tasks.enqueue(session, kind="test.exit", params={}, actor=world["admin_a"])
    good = tasks.enqueue(session, kind="test.ok", params={}, actor=world["admin_a"])
    session.commit()
    Worker(db, _fast(app), name="w").run(once=True)
    session.expire_all()
    assert (session.get(Task, bad.id).status, session.get(Task, bad.id).error) == (
        "failed",
        "文件第 3 行无法读取",
    )
    assert hooked == [bad.id]
    assert session.get(Task, gone.id).status == "failed"
    assert session.get(Task, good.id).status == "done"


def test_the_loop_rides_out_an_outage_in_claim(app, db, session, world, monkeypatch, caplog):
    task = tasks.enqueue(session, kind="audit.verify", params={}, actor=world["auditor"])
    session.commit()
    real_claim, calls = tasks.claim, []

    def flaky_claim(*args, **kwargs):
        calls.append(1)
        if len(calls) <= 2:
            raise _blip()
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(tasks, "claim", flaky_claim)
    with caplog.at_level(logging.INFO, logger="shuangsuiji.worker"):
        Worker(db, _fast(app), name="w").run(once=True)
    session.expire_all()
    assert session.get(Task, task.id).status == "done"
    outage_lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(outage_lines) == 2 and all(r.exc_info is None for r in outage_lines)
    assert "server closed the connection" in outage_lines[0].getMessage()
    assert any("resumed after 2 failed rounds" in r.getMessage() for r in caplog.records)


def test_an_outage_inside_a_handler_hands_the_task_back_until_the_cap(
    app, db, session, world, kinds
):
    runs = []

    def flaky(ctx):
        runs.append(1)
        if len(runs) == 1:
            raise _blip()
        return {"runs": len(runs)}

    def always_down(ctx):
        raise _blip()

    kinds("test.flaky", flaky)
    kinds("test.down", always_down)
    flaky_task = tasks.enqueue(session, kind="test.flaky", params={}, actor=world["admin_a"])
    session.commit()
    worker = Worker(db, _fast(app, WORKER_MAX_ATTEMPTS=2), name="w")
    worker.run(once=True)
    session.expire_all()
    done = session.get(Task, flaky_task.id)
    assert (done.status, done.attempts, json.loads(done.result)) == ("done", 2, {"runs": 2})

    down = tasks.enqueue(session, kind="test.down", params={}, actor=world["admin_a"])
    session.commit()
    worker.run(once=True)
    session.expire_all()
    failed = session.get(Task, down.id)
    assert (failed.status, failed.attempts) == ("failed", 2)
    assert "数据库连接中断" in failed.error


def test_every_declared_task_kind_has_a_handler_and_no_handler_is_undeclared():
    assert set(HANDLERS) == set(tasks.LABELS)
    with pytest.raises(ValueError, match="not declared"):
        handler("test.undeclared")
    with pytest.raises(ValueError, match="unknown task kind"):
        tasks.enqueue(None, kind="test.undeclared", params={}, actor=None)


def test_an_outage_while_recording_the_result_is_ridden_out(
    app, db, session, world, kinds, monkeypatch
):
    """The handler's work is done: the worker keeps trying to record it rather than leave the
    task running, to be handed back and run a second time."""
    runs = []
    kinds("test.once", lambda ctx: runs.append(1) or {"ran": True})
    task = tasks.enqueue(session, kind="test.once", params={}, actor=world["admin_a"])
    session.commit()
    real_finish, calls = tasks.finish, []

    def flaky_finish(*args, **kwargs):
        calls.append(1)
        if len(calls) <= 2:
            raise _blip()
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(tasks, "finish", flaky_finish)
    assert Worker(db, _fast(app), name="w").run_one() is True
    session.expire_all()
    done = session.get(Task, task.id)
    assert (done.status, json.loads(done.result), len(runs)) == ("done", {"ran": True}, 1)
