"""Background tasks (后台任务): queued by a request, claimed and run by the worker process.

Every kind of task is declared here with its Chinese name (`LABELS`); a service queues one
with `enqueue`, and the worker runs it with the handler registered for its kind
(worker/handlers.py), which owns the transactions. Here the tasks table is only read and
flushed: claiming, progress, the outcome, handing back.

A task fails for good when its handler raises, or when it has been started `max_attempts`
times and its worker died each time (a task that kills its process is never requeued
forever). The owner of a task kind registers an `on_failure` hook to put its own record (an
import batch, an export file) in a final state then; the hook runs in the caller's
transaction, like everything here (services flush; the worker owns the transactions).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ...db import Task, User, utcnow
from ...db.states import JobStatus
from ...errors import NotFound
from ..scope import administers, is_dept_admin, reads_all
from . import audit

log = logging.getLogger(__name__)

# Every kind of task there is, with its Chinese name (shown on the task's page).
LABELS: dict[str, str] = {
    "import.validate": "校验导入文件",
    "import.apply": "导入名录",
    "export.list": "导出名录",
    "export.sheet": "导出表格",
    "draw.run": "抽取",
    "audit.verify": "校验审计日志链",
}
FAILURE_HOOKS: dict[str, Callable[[Session, Task, str], None]] = {}
STATUS_LABELS = {
    JobStatus.QUEUED: "排队中",
    JobStatus.RUNNING: "运行中",
    JobStatus.DONE: "已完成",
    JobStatus.FAILED: "失败",
}


def on_failure(kind: str):
    """Register `hook(session, task, reason)`, run when a task of `kind` fails for good.

    The hook flushes (never commits) and must not raise for a record already final; should it
    raise all the same, the task still ends failed and the error is logged."""

    def decorate(func):
        FAILURE_HOOKS[kind] = func
        return func

    return decorate


def enqueue(
    session: Session,
    *,
    kind: str,
    params: dict,
    actor: User | None,
    department_id: int | None = None,
) -> Task:
    if kind not in LABELS:
        raise ValueError(f"unknown task kind {kind!r}")
    task = Task(
        kind=kind,
        params=json.dumps(params, ensure_ascii=False),
        department_id=department_id,
        created_by_id=actor.id if actor else None,
        message="排队中",
    )
    session.add(task)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="task.enqueue",
        object_type="task",
        object_id=task.id,
        after={"kind": kind, "params": params},
        department_id=department_id,
    )
    return task


def get_visible(session: Session, actor: User, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None or not (
        reads_all(actor) or task.created_by_id == actor.id or administers(actor, task.department_id)
    ):
        raise NotFound("任务不存在")
    return task


def list_visible(session: Session, actor: User, *, limit: int = 50) -> list[Task]:
    query = select(Task).order_by(Task.id.desc()).limit(limit)
    if not reads_all(actor):
        query = query.where(
            or_(Task.created_by_id == actor.id, Task.department_id == actor.department_id)
            if is_dept_admin(actor)
            else Task.created_by_id == actor.id
        )
    return list(session.scalars(query))


def claim(session: Session, *, worker: str, task_id: int | None = None) -> Task | None:
    """Take the oldest queued task (or the given one). PostgreSQL: SKIP LOCKED lets workers
    claim side by side; SQLite: the write transaction (BEGIN IMMEDIATE) admits one claimer."""
    query = select(Task).where(Task.status == JobStatus.QUEUED).order_by(Task.id).limit(1)
    if task_id is not None:
        query = query.where(Task.id == task_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    task = session.scalar(query)
    if task is None:
        return None
    now = utcnow()
    task.status, task.worker, task.attempts = JobStatus.RUNNING, worker, task.attempts + 1
    task.started_at, task.heartbeat_at, task.message = now, now, "运行中"
    session.flush()
    return task


def record_progress(session: Session, task_id: int, done: int, total: int, message: str) -> None:
    """A running task's progress, which is also its heartbeat."""
    session.execute(
        update(Task)
        .where(Task.id == task_id)
        .values(
            progress_done=done,
            progress_total=total,
            message=message[:255],
            heartbeat_at=utcnow(),
        )
    )


def beat(session: Session, task_id: int) -> None:
    """A running task's worker is alive (its heartbeat thread)."""
    session.execute(
        update(Task)
        .where(Task.id == task_id, Task.status == JobStatus.RUNNING)
        .values(heartbeat_at=utcnow())
    )


def finish(session: Session, task_id: int, result: dict) -> None:
    task = session.get(Task, task_id)
    task.status, task.finished_at = JobStatus.DONE, utcnow()
    task.result = json.dumps(result, ensure_ascii=False)
    task.message = "已完成"
    if task.progress_total:
        task.progress_done = task.progress_total
    session.flush()


def fail(session: Session, task_id: int, message: str) -> None:
    """Mark the task failed with `message` (shown to its people) and run its kind's hook."""
    task = session.get(Task, task_id)
    task.status, task.finished_at, task.error = JobStatus.FAILED, utcnow(), message
    task.message = "失败"
    session.flush()
    hook = FAILURE_HOOKS.get(task.kind)
    if hook is None:
        return
    try:
        with session.begin_nested():
            hook(session, task, message)
    except Exception:
        log.exception("the failure hook of task %s (%s) failed", task.id, task.kind)


def retry_or_fail(session: Session, task_id: int, *, max_attempts: int, reason: str) -> bool:
    """A task whose run broke off (its worker died, the database went away): back to the
    queue while it has attempts left, else failed for good with `reason`. True if requeued."""
    task = session.get(Task, task_id)
    if task is None or task.status != JobStatus.RUNNING:
        return False
    if task.attempts < max_attempts:
        hand_back(session, task_id)
        return True
    fail(session, task_id, f"{reason}；已尝试 {task.attempts} 次，不再重试")
    return False


def hand_back(session: Session, task_id: int) -> None:
    """Return an interrupted task to the queue, as it was before it was claimed."""
    session.execute(
        update(Task)
        .where(Task.id == task_id, Task.status == JobStatus.RUNNING)
        .values(
            status=JobStatus.QUEUED,
            worker=None,
            started_at=None,
            heartbeat_at=None,
            progress_done=0,
            progress_total=0,
            message="已退回队列，等待重新执行",
        )
    )


STALE_REASON = "执行该任务的进程意外中断（无心跳）"


def requeue_stale(session: Session, *, older_than: dt.timedelta, max_attempts: int) -> int:
    """Hand back running tasks whose worker died without a word (no heartbeat); one started
    `max_attempts` times already fails instead. The number handed back or failed."""
    limit = utcnow() - older_than
    stale = list(
        session.scalars(
            select(Task.id).where(Task.status == JobStatus.RUNNING, Task.heartbeat_at < limit)
        )
    )
    for task_id in stale:
        retry_or_fail(session, task_id, max_attempts=max_attempts, reason=STALE_REASON)
    return len(stale)


def result_of(task: Task) -> dict | None:
    return task.outcome
