"""The background worker process (`shuangsuiji worker run`): claims tasks and runs them.

One worker on SQLite; on PostgreSQL several may run side by side (SKIP LOCKED). SIGTERM and
SIGINT hand the running task back to the queue at its next progress report.

One task never takes the process down: whatever its handler raises fails that task (with a
reason its people can read) and the loop goes on; a database outage in the middle of a task
hands it back to the queue while it has attempts left (WORKER_MAX_ATTEMPTS). The worker owns
the transactions: claiming, progress, the outcome, housekeeping. An outage between tasks
(claiming, housekeeping) is ridden out with backoff (db/outages.py).

While a handler runs, a thread of its worker writes the task's heartbeat every
WORKER_HEARTBEAT_SECONDS, however long the handler goes without reporting progress (one
transaction applying an import): a task is handed back as stale (WORKER_STALE_MINUTES) only
when its worker is gone, never run twice because it was slow.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ..db import Database
from ..db.outages import Outage, T, describe, is_outage
from ..errors import AppError
from ..services.platform import audit, tasks
from . import audit_chain as _audit_chain  # noqa: F401  (the handlers' modules register them)
from . import draws as _draws  # noqa: F401
from . import imports
from . import paperwork as _paperwork  # noqa: F401
from .handlers import HANDLERS, Interrupted, TaskContext

log = logging.getLogger(__name__)


def failure_reason(error: BaseException) -> str:
    """What a failed task tells its people: a service's own message, never internals."""
    if isinstance(error, AppError):
        return error.message
    if isinstance(error, MemoryError):
        return "任务所需内存超出服务器限制，已停止执行"
    return "任务执行出错，详情见服务器日志"


OUTAGE_REASON = "执行期间数据库连接中断"


class Heartbeat:
    """Writes a running task's heartbeat every `interval` seconds, in a thread, until stopped.

    A failed write (the database is busy or away) is logged and tried again at the next beat;
    the task is stale only after WORKER_STALE_MINUTES without any."""

    def __init__(self, db: Database, task_id: int, interval: float):
        self.db, self.task_id, self.interval = db, task_id, interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._beat, name=f"heartbeat-task-{task_id}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                with self.db.transaction() as session:
                    tasks.beat(session, self.task_id)
            except Exception as error:
                log.warning("task %s: heartbeat not written (%s)", self.task_id, describe(error))


class Worker:
    def __init__(self, db: Database, config: dict, *, name: str | None = None, on_progress=None):
        self.db = db
        self.config = config
        self.on_progress = on_progress
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()
        self.outage = Outage.from_config(f"worker {self.name}", config, log)

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
            ctx = TaskContext(
                db=self.db,
                task_id=task.id,
                params=task.parameters,
                actor_id=task.created_by_id,
                department_id=task.department_id,
                should_stop=self.stopping.is_set,
                config=self.config,
                report=self._reporter(task.id),
                on_progress=self.on_progress,
            )
            kind = task.kind
        run = HANDLERS.get(kind)
        task_id = ctx.task_id
        with self._heartbeat(task_id):
            try:
                if run is None:
                    raise LookupError(f"no handler for {kind}")
                result = run(ctx)
            except Interrupted:
                self._settle(lambda session: tasks.hand_back(session, task_id))
                log.info("task %s handed back", task_id)
            except (Exception, SystemExit) as error:
                self._failed(task_id, kind, error)
            else:
                self._settle(lambda session: tasks.finish(session, task_id, result))
        return True

    def _settle(self, write: Callable[[Session], T]) -> T:
        """Record a task's outcome in a transaction of its own. Through a database outage keep
        trying, backing off, rather than leave a finished task running to be handed back and
        run again; a worker asked to stop gives up (the task is then handed back as stale)."""

        def attempt() -> T:
            with self.db.transaction() as session:
                return write(session)

        return self.outage.keep_trying(attempt, stopping=self.stopping)

    def _heartbeat(self, task_id: int):
        # A database bound to one connection (the tests' rolled-back transaction) cannot be
        # written from a second thread: the handler's progress reports are its heartbeat there.
        if self.db.bound:
            return contextlib.nullcontext()
        return Heartbeat(self.db, task_id, self.config["WORKER_HEARTBEAT_SECONDS"])

    def _reporter(self, task_id: int):
        def report(done: int, total: int, message: str) -> None:
            with self.db.transaction() as session:
                tasks.record_progress(session, task_id, done, total, message)

        return report

    def _failed(self, task_id: int, kind: str, error: BaseException) -> None:
        """A handler raised: an outage gives the task another attempt, anything else fails it."""
        if is_outage(error):
            log.warning("task %s (%s): database unavailable (%s)", task_id, kind, describe(error))
            requeued = self._settle(
                lambda session: tasks.retry_or_fail(
                    session,
                    task_id,
                    max_attempts=self.config["WORKER_MAX_ATTEMPTS"],
                    reason=OUTAGE_REASON,
                )
            )
            if requeued:
                log.info("task %s handed back to the queue", task_id)
            return
        log.error("task %s (%s) failed", task_id, kind, exc_info=error)
        self._settle(lambda session: tasks.fail(session, task_id, failure_reason(error)))

    def housekeeping(self) -> None:
        tz = ZoneInfo(self.config["TIMEZONE"])
        with self.db.transaction() as session:
            tasks.requeue_stale(
                session,
                older_than=dt.timedelta(minutes=self.config["WORKER_STALE_MINUTES"]),
                max_attempts=self.config["WORKER_MAX_ATTEMPTS"],
            )
            audit.ensure_checkpoints(session, today=dt.datetime.now(tz).date(), tz=tz)
        # Indexes a bulk import left to build after its commit, should its worker have died.
        imports.build_indexes(self.db, wait=False)

    def run(self, *, once: bool = False) -> None:
        log.info("worker %s started", self.name)
        last_housekeeping = None
        while not self.stopping.is_set():
            try:
                now = time.monotonic()
                if last_housekeeping is None or now - last_housekeeping > 60:
                    self.housekeeping()
                    last_housekeeping = now
                worked = self.run_one()
            except Exception as error:  # a database outage, or a bug outside any task
                if once and not is_outage(error):
                    raise
                self.stopping.wait(self.outage.failed(error))
                continue
            self.outage.succeeded()
            if once and not worked:
                break
            if not worked:
                self.stopping.wait(self.config["WORKER_POLL_SECONDS"])
        log.info("worker %s stopped", self.name)
