"""An import whose task fails for good (its worker died at every attempt) leaves its batch
failed with the reason, never 校验中 or 导入中 forever."""

from __future__ import annotations

import datetime as dt
import io

from shuangsuiji.db import ImportJob, Task, utcnow
from shuangsuiji.db.states import ImportStatus, JobStatus
from shuangsuiji.domain import uscc
from shuangsuiji.services.platform import tasks
from shuangsuiji.services.registry import imports
from shuangsuiji.worker import Worker

CSV = f"统一社会信用代码,企业名称\n{uscc.make('91131024000000001')},某公司\n".encode()


def _die_at_every_attempt(session, task_id, max_attempts):
    """What a worker killed by its task leaves: a running task without a heartbeat."""
    for _ in range(max_attempts):
        task = session.get(Task, task_id)
        assert task.status == JobStatus.QUEUED
        tasks.claim(session, worker="dying", task_id=task_id)
        task.heartbeat_at = utcnow() - dt.timedelta(hours=1)
        session.flush()
        tasks.requeue_stale(session, older_than=dt.timedelta(minutes=10), max_attempts=max_attempts)
    session.expire_all()
    task = session.get(Task, task_id)
    assert task.status == JobStatus.FAILED
    return task


def _upload(app, session, world) -> ImportJob:
    return imports.create(
        session,
        actor=world["admin_a"],
        department_id=world["a"].id,
        kind="entities",
        filename="对象.csv",
        source=io.BytesIO(CSV),
        config=app.config,
    )


def test_a_check_that_kills_its_worker_fails_the_batch(app, session, world):
    job = _upload(app, session, world)
    assert job.status == ImportStatus.VALIDATING
    task = _die_at_every_attempt(session, job.task_id, 3)
    job = session.get(ImportJob, job.id)
    assert job.status == ImportStatus.FAILED and job.error.startswith(task.error)
    assert "重新上传" in job.error


def test_an_apply_that_kills_its_worker_fails_the_batch(app, db, session, world):
    job = _upload(app, session, world)
    session.commit()
    Worker(db, app.config, name="test").run_one(job.task_id)
    session.expire_all()
    job = imports.confirm(session, actor=world["admin_a"], import_id=job.id)
    assert job.status == ImportStatus.APPLYING
    _die_at_every_attempt(session, job.task_id, 2)
    job = session.get(ImportJob, job.id)
    assert job.status == ImportStatus.FAILED and "名录未作任何改动" in job.error
