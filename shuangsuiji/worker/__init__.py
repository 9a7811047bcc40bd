"""The background worker process (`shuangsuiji worker run`): claims tasks and runs them.

One worker on SQLite; on PostgreSQL several may run side by side (SKIP LOCKED). SIGTERM and
SIGINT hand the running task back to the queue at its next progress report.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import socket
import threading
import time
from zoneinfo import ZoneInfo

from ..db import Database
from ..services.platform import audit, tasks
from ..services.registry import imports
from . import jobs as _jobs  # noqa: F401  (registers the handlers)

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, db: Database, config: dict, *, name: str | None = None, on_progress=None):
        self.db = db
        self.config = config
        self.on_progress = on_progress
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()

    def install_signal_handlers(self) -> None:
        def on_signal(signum, _frame):
            log.info("worker %s: signal %s, stopping after handing back", self.name, signum)
            self.stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def run_one(self, task_id: int | None = None) -> bool:
        """Claim and run one task (the oldest, or `task_id`); False when there was none."""
        with self.db.transaction() as session:
            task = tasks.claim(session, worker=self.name, task_id=task_id)
            if task is None:
                return False
            ctx = tasks.TaskContext(
                db=self.db,
                task_id=task.id,
                params=json.loads(task.params),
                actor_id=task.created_by_id,
                department_id=task.department_id,
                should_stop=self.stopping.is_set,
                config=self.config,
                on_progress=self.on_progress,
            )
            kind = task.kind
        run = tasks.HANDLERS.get(kind)
        try:
            if run is None:
                raise LookupError(f"no handler for {kind}")
            result = run(ctx)
        except tasks.Interrupted:
            with self.db.transaction() as session:
                tasks.hand_back(session, ctx.task_id)
            log.info("task %s handed back", ctx.task_id)
        except Exception:
            log.exception("task %s (%s) failed", ctx.task_id, kind)
            with self.db.transaction() as session:
                tasks.fail(session, ctx.task_id, "任务执行出错，详情见服务器日志")
        else:
            with self.db.transaction() as session:
                tasks.finish(session, ctx.task_id, result)
        return True

    def housekeeping(self) -> None:
        tz = ZoneInfo(self.config["TIMEZONE"])
        with self.db.transaction() as session:
            tasks.requeue_stale(
                session, older_than=dt.timedelta(minutes=self.config["WORKER_STALE_MINUTES"])
            )
            audit.ensure_checkpoints(session, today=dt.datetime.now(tz).date(), tz=tz)
        # Indexes a bulk import left to build after its commit, should its worker have died.
        imports.build_indexes(self.db, wait=False)

    def run(self, *, once: bool = False) -> None:
        log.info("worker %s started", self.name)
        last_housekeeping = 0.0
        while not self.stopping.is_set():
            now = time.monotonic()
            if now - last_housekeeping > 60:
                self.housekeeping()
                last_housekeeping = now
            worked = self.run_one()
            if once and not worked:
                break
            if not worked:
                self.stopping.wait(self.config["WORKER_POLL_SECONDS"])
        log.info("worker %s stopped", self.name)
