"""Riding out an outage: the background processes back off, log one line and resume.

The worker, the scheduler and the outbox dispatcher each run a loop against the database. A
database that restarts, a connection terminated by an administrator or a network blip raises
`OperationalError` (or a like error) from whatever statement was running; the process must not
die of it. Each loop wraps one round in an `Outage` guard: a failed round waits
OUTAGE_BACKOFF_SECONDS, doubling after each consecutive failure up to
OUTAGE_BACKOFF_MAX_SECONDS, and logs one line per failure (no traceback for an outage, a
traceback for anything unexpected); the first round that succeeds logs the recovery and resets
the wait.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import exc as sa_exc

_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,  # server gone, connection terminated, SQLite "database is locked"
    sa_exc.InterfaceError,  # the driver's connection object is closed
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # no connection from the pool in time
)
try:  # Redis is optional (the rate limiter's store); its connection errors are outages too
    import redis.exceptions as _redis

    _OUTAGE_TYPES += (_redis.ConnectionError, _redis.TimeoutError)
except ImportError:  # pragma: no cover (installed with Flask-Limiter[redis])
    pass


T = TypeVar("T")


def is_outage(error: BaseException) -> bool:
    """Whether `error` says the database (or Redis) is unreachable, not that a statement is
    wrong: worth waiting and trying again."""
    if isinstance(error, _OUTAGE_TYPES):
        return True
    return isinstance(error, sa_exc.DBAPIError) and bool(error.connection_invalidated)


def describe(error: BaseException) -> str:
    """One short line about `error` for the log (the driver's first line, not the SQL)."""
    origin = getattr(error, "orig", None) or error
    text = str(origin).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(origin).__name__}: {first[:200]}" if first else type(origin).__name__


@dataclass
class Backoff:
    """Exponential waits: `base`, 2 × `base`, 4 × `base` … at most `cap` seconds."""

    base: float
    cap: float
    failures: int = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * 2**self.failures)
        self.failures += 1
        return delay

    def reset(self) -> int:
        """Forget the failures; how many there were."""
        failures, self.failures = self.failures, 0
        return failures


@dataclass
class Outage:
    """The guard of one process's loop: `failed(error)` gives the wait before the next round
    (and logs), `succeeded()` ends an outage (and logs that it ended)."""

    name: str
    backoff: Backoff
    log: logging.Logger = field(default_factory=lambda: logging.getLogger(__name__))

    @classmethod
    def from_config(cls, name: str, config, log: logging.Logger | None = None) -> Outage:
        backoff = Backoff(config["OUTAGE_BACKOFF_SECONDS"], config["OUTAGE_BACKOFF_MAX_SECONDS"])
        return cls(name, backoff, log or logging.getLogger(__name__))

    @property
    def ongoing(self) -> bool:
        return self.backoff.failures > 0

    def failed(self, error: BaseException) -> float:
        delay = self.backoff.next_delay()
        if is_outage(error):
            self.log.warning(
                "%s: database unavailable (%s); retrying in %.1f s",
                self.name,
                describe(error),
                delay,
            )
        else:
            self.log.error(
                "%s: unexpected error; retrying in %.1f s", self.name, delay, exc_info=error
            )
        return delay

    def succeeded(self) -> None:
        failures = self.backoff.reset()
        if failures:
            self.log.info("%s: resumed after %d failed rounds", self.name, failures)

    def keep_trying(self, attempt: Callable[[], T], *, stopping: threading.Event) -> T:
        """`attempt()` until it gets through: an outage is waited out (backing off, logged),
        any other error is raised, and so is the outage once `stopping` is set. For writes
        that must not be lost after the work they record was done (a task's outcome, a sent
        message's)."""
        while True:
            try:
                outcome = attempt()
            except Exception as error:
                if not is_outage(error) or stopping.is_set():
                    raise
                stopping.wait(self.failed(error))
                continue
            self.succeeded()
            return outcome
