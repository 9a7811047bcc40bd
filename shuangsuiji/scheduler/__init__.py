"""The scheduler process (`shuangsuiji scheduler run`): draws the batches of recurring plans,
queues deadline reminders and does the housekeeping (scheduler/housekeeping.py: expires the
messages no gateway collects, deletes old outbox messages and import stage rows), at most every
HOUSEKEEPING_INTERVAL_MINUTES.

One process beside gunicorn and the worker, never inside `create_app()` (each gunicorn worker
would run every job). Its job is `batch_jobs.ensure_due` followed by `reminders.sweep`, run at
start-up, at every plan's next due time and every `SCHEDULER_TICK_SECONDS`, so a batch missed
while the process was down is drawn at the next start and a plan activated meanwhile is picked
up at the next tick. The sweep queues each reminder once (dedup keys), however often it runs.

APScheduler 3 keeps the jobs in a memory job store rebuilt from the plans table at start-up
and after every run (never a pickled job table: whoever writes it could run code). The job
runs at most once at a time and late runs are coalesced; being late is harmless because the
job only ever asks the database what is due. Running two schedulers at once is harmless too:
the database lets one of them draw each batch (see scheduler/batch_jobs.py).

A round that fails (the database is unreachable) logs one line and is tried again after a
backoff (OUTAGE_BACKOFF_SECONDS, doubling up to OUTAGE_BACKOFF_MAX_SECONDS; db/outages.py)
rather than at the next tick; the process itself never stops for it.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ..db import Database, utcnow
from ..db.outages import Outage, is_outage
from ..services.plans import batches
from ..services.platform import outbox
from ..services.results import deadlines, reminders
from . import batch_jobs, housekeeping

log = logging.getLogger(__name__)

TICK_JOB = "tick"
RETRY_JOB = "retry"  # the next round after a failed one, sooner than the tick


class Scheduler:
    """Runs ensure-due on time. `clock` gives "now" (UTC-aware); tests inject a frozen one."""

    def __init__(self, db: Database, config, *, clock: Callable[[], dt.datetime] = utcnow):
        self.db = db
        self.config = config
        self.clock = clock
        self.timing = batches.Timing.from_config(config)
        self.stopping = threading.Event()
        self.outage = Outage.from_config("scheduler", config, log)
        self.outbox_settings = outbox.Settings.from_config(config)
        self.housekept_at: dt.datetime | None = None
        self.aps = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=ZoneInfo(config["TIMEZONE"]),
        )

    def ensure_due(self) -> list[batches.Outcome]:
        """Draw what is due now, then set a job at each plan's next due time."""
        outcomes = batch_jobs.ensure_due(self.db, now=self.clock(), timing=self.timing)
        for o in outcomes:
            log.info("plan %s batch %s: %s %s", o.plan_id, o.key, o.result, o.error or "")
        return outcomes

    def remind(self) -> int:
        """Queue the reminders due today (Beijing date of the clock)."""
        today = self.clock().astimezone(ZoneInfo(self.config["TIMEZONE"])).date()
        rules = deadlines.Rules.from_config(self.config)
        with self.db.transaction() as session:
            return reminders.sweep(session, today=today, rules=rules)

    def housekeep(self, *, force: bool = False) -> housekeeping.Report | None:
        """Expire and prune (scheduler/housekeeping.py), unless done less than
        HOUSEKEEPING_INTERVAL_MINUTES ago. A clock set forward for a rehearsal never expires
        or deletes ahead of the real time."""
        now = min(self.clock(), utcnow())
        interval = dt.timedelta(minutes=self.config["HOUSEKEEPING_INTERVAL_MINUTES"])
        if not force and self.housekept_at is not None and now - self.housekept_at < interval:
            return None
        report = housekeeping.run(
            self.db,
            settings=self.outbox_settings,
            stage_retention=dt.timedelta(days=self.config["IMPORT_STAGE_RETENTION_DAYS"]),
            now=now,
        )
        self.housekept_at = now
        return report

    def plan_jobs(self) -> dict[int, dt.datetime]:
        """The next due time of every active plan, from the plans table."""
        with self.db.transaction(write=False) as session:
            return batches.next_due(session, self.clock(), self.timing)

    def rebuild_jobs(self) -> None:
        """Make the job store hold one date job per active plan (its next batch) and the tick.

        APScheduler fires on the real clock: with a clock set back for a rehearsal, a due time
        already past in real time gets no job (the tick still runs ensure-due)."""
        real_now = utcnow()
        wanted = {
            f"plan-{plan_id}": when for plan_id, when in self.plan_jobs().items() if when > real_now
        }
        for job in self.aps.get_jobs():
            if job.id not in (TICK_JOB, RETRY_JOB) and job.id not in wanted:
                job.remove()
        for job_id, when in wanted.items():
            self.aps.add_job(
                self._run,
                DateTrigger(run_date=when),
                id=job_id,
                name=job_id,
                replace_existing=True,
            )

    def _remind(self) -> None:
        queued = self.remind()
        if queued:
            log.info("reminders queued: %s", queued)

    def _run(self) -> None:
        """One round: ensure-due, the reminder sweep, the jobs. Each step runs whatever the
        others did; a failed round is tried again after the outage backoff."""
        first_error = None
        for name, step in (
            ("ensure-due", self.ensure_due),
            ("the reminder sweep", self._remind),
            ("housekeeping", self.housekeep),
            ("rebuilding the jobs", self.rebuild_jobs),
        ):
            try:
                step()
            except Exception as error:  # the process must survive a database outage
                if first_error is None:
                    first_error = error
                elif not is_outage(error):
                    log.exception("%s failed", name)
        if first_error is None:
            self.outage.succeeded()
            if self.aps.get_job(RETRY_JOB) is not None:  # this round did what it was for
                self.aps.remove_job(RETRY_JOB)
            return
        delay = self.outage.failed(first_error)
        self.aps.add_job(
            self._run,
            DateTrigger(run_date=utcnow() + dt.timedelta(seconds=delay)),
            id=RETRY_JOB,
            name=RETRY_JOB,
            replace_existing=True,
        )

    def install_signal_handlers(self) -> None:
        def on_signal(signum, _frame):
            log.info("scheduler: signal %s, stopping", signum)
            self.stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def start(self) -> None:
        """Catch up, then run the jobs (in APScheduler's thread) until `stopping` is set; a
        signal during the catch-up stops the process right after it."""
        log.info("scheduler: catching up")
        self._run()
        if self.stopping.is_set():
            log.info("scheduler stopped")
            return
        self.aps.add_job(
            self._run,
            IntervalTrigger(seconds=self.config["SCHEDULER_TICK_SECONDS"]),
            id=TICK_JOB,
            name=TICK_JOB,
            replace_existing=True,
        )
        self.aps.start()
        log.info("scheduler started; jobs: %s", [j.id for j in self.aps.get_jobs()])
        self.stopping.wait()
        self.aps.shutdown(wait=True)  # lets a running ensure-due finish its transaction
        log.info("scheduler stopped")
