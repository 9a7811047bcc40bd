"""The scheduler's batch job: `ensure_due` commits and draws every due batch of the recurring
plans, each in a transaction this module owns; the services below (services/plans/batches.py)
only flush.

"Exactly once" is the database's job: each batch runs in a write transaction that holds the
plan's batch lock (`batches.lock`: pg_try_advisory_xact_lock on PostgreSQL, where a second
process skips the batch; the SQLite write lock, where a second process waits, then sees the
draw); the unique index on draws (plan, batch key, first draw) and the unique SRDP plan id of
the commitment are the final guard.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.exc import IntegrityError, OperationalError

from ..db import Database, Plan
from ..db.states import BatchStatus
from ..services.plans import batches
from ..services.plans.batches import Outcome, Scheduled, Timing

log = logging.getLogger(__name__)


def ensure_batch(
    db: Database,
    plan_id: int,
    entry: Scheduled,
    *,
    remaining: int,
    now: dt.datetime,
    timing: Timing,
) -> Outcome:
    """Commit and draw one due batch unless it has its draw (or failed less than the retry
    interval ago). Safe to run in any number of processes at once."""
    key = entry.period.key
    try:
        with db.transaction() as session:
            if not batches.lock(session, plan_id):
                return Outcome(plan_id, key, "busy")
            return batches.draw_batch(
                session, plan_id, entry, remaining=remaining, now=now, timing=timing
            )
    except (batches.Raced, IntegrityError):
        return Outcome(plan_id, key, "already")
    except OperationalError as exc:
        if "locked" in str(exc):  # SQLite: the other process held the write lock too long
            return Outcome(plan_id, key, "busy")
        raise


def ensure_due(db: Database, *, now: dt.datetime, timing: Timing) -> list[Outcome]:
    """Make sure every batch due by `now` is committed and drawn, each exactly once.

    Idempotent: run it at start-up, on every tick, in several processes at once."""
    with db.transaction(write=False) as session:
        todo = batches.due(session, now, timing)
    outcomes = []
    for plan_id, entry, remaining in todo:
        try:
            outcome = ensure_batch(db, plan_id, entry, remaining=remaining, now=now, timing=timing)
        except Exception:
            log.exception("batch %s of plan %s: unexpected error", entry.period.key, plan_id)
            outcome = _record_crash(db, plan_id, entry, now)
        outcomes.append(outcome)
    return outcomes


def _record_crash(db: Database, plan_id: int, entry: Scheduled, now: dt.datetime) -> Outcome:
    message = "内部错误，详情见调度程序日志"
    try:
        with db.transaction() as session:
            batches.record_attempt(session, session.get(Plan, plan_id), entry, now, error=message)
    except Exception:
        log.exception("could not record the failure of batch %s", entry.period.key)
    return Outcome(plan_id, entry.period.key, BatchStatus.FAILED, error=message)
