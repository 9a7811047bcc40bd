"""Ordering threads in concurrency tests by what they are doing, not by sleeping.

Threads meet at a threading.Barrier or signal with a threading.Event; where one thread must
be blocked inside the database before another goes on (a row lock, an advisory lock), the
test asks PostgreSQL whether it is waiting instead of guessing how long that takes.
"""

from __future__ import annotations

import time

from sqlalchemy import text

# Sessions of this database that wait for a heavyweight lock (row, table or advisory), other
# than the one asking.
_WAITING = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    " AND pid <> pg_backend_pid()"
)


def lock_waiters(engine) -> int:
    """How many sessions of this PostgreSQL database wait for a lock right now."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(_WAITING).scalar_one()


def wait_for_lock_waiters(engine, count: int = 1, *, timeout: float = 30.0) -> None:
    """Return once `count` sessions wait for a lock (PostgreSQL); fail after `timeout`."""
    assert engine.dialect.name == "postgresql", "only PostgreSQL shows who waits for a lock"
    deadline = time.monotonic() + timeout
    while (waiting := lock_waiters(engine)) < count:
        assert time.monotonic() < deadline, f"{waiting} of {count} waiting after {timeout} s"
        time.sleep(0.01)  # a poll of the database's state, not a guess at another thread
