"""The registry lists' plain indexes (searches and filters): dropped before a large import
and built after its commit with CREATE INDEX CONCURRENTLY (PostgreSQL), one builder at a time;
and fresh planner statistics after a bulk write.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator

from sqlalchemy import Table, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex, DropIndex

from ....db import Database
from .jobs import LISTS

log = logging.getLogger(__name__)


def list_tables() -> list[Table]:
    return [kind.model.__table__ for kind in LISTS.values()]


def analyze(session: Session, stage: Table) -> None:
    """Fresh planner statistics for a staging table that just received many rows: without them
    PostgreSQL plans the joins against the registry as if the stage were empty."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {stage.name}"))


# pg_advisory_lock key of the index builders ("SSJINDEX"): one builds at a time.
PG_INDEX_LOCK_KEY = 0x5353_4A49_4E44_4558 & 0x7FFF_FFFF_FFFF_FFFF
INDEX_VALID = text(
    "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE c.relname = :name AND c.relnamespace = CAST(current_schema() AS regnamespace)"
)


LOCK_POLL_SECONDS = 0.5


@contextlib.contextmanager
def index_builder(
    db: Database, *, wait: bool = True, waiting: Callable[[], None] | None = None
) -> Iterator:
    """An autocommit connection holding the index builders' advisory lock (one process drops
    and builds the lists' indexes at a time), or None when `wait` is false and another holds
    it.

    The lock is taken by polling pg_try_advisory_lock, never by waiting in pg_advisory_lock:
    a statement waiting for the lock holds a snapshot, and the holder's CREATE INDEX
    CONCURRENTLY waits for every older snapshot to go, so the two would wait for each other
    (PostgreSQL then kills one of them as a deadlock). Between tries this connection is idle,
    outside any transaction; `waiting()` is called then (the task's heartbeat, which also
    raises when the worker stops).
    """
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        lock = {"k": PG_INDEX_LOCK_KEY}
        while not connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), lock):
            if not wait:
                yield None
                return
            if waiting is not None:
                waiting()
            time.sleep(LOCK_POLL_SECONDS)
        connection.execute(text("SET maintenance_work_mem = '256MB'"))
        try:
            yield connection
        finally:
            connection.execute(text("RESET maintenance_work_mem"))
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), lock)


def drop_indexes(connection, table: Table) -> None:
    preparer = connection.dialect.identifier_preparer
    for index in sorted(table.indexes, key=lambda i: i.name):
        connection.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {preparer.quote(index.name)}"))


def build_missing(connection, tables: list[Table], *, concurrently: bool) -> list:
    """Build the tables' indexes that are missing or invalid (a concurrent build cut short by
    a crash leaves its index INVALID: dropped and built again); returns their names.
    `concurrently` (CREATE INDEX CONCURRENTLY, on an autocommit connection): the lists stay
    readable and writable meanwhile."""
    built = []
    for table in tables:
        for index in sorted(table.indexes, key=lambda i: i.name):
            valid = connection.scalar(INDEX_VALID, {"name": index.name})
            if valid:
                continue
            started = time.perf_counter()
            if valid is False:  # a concurrent build that died half-way
                connection.execute(DropIndex(index))
            ddl = str(CreateIndex(index).compile(dialect=connection.dialect))
            if concurrently:
                ddl = ddl.replace("CREATE INDEX ", "CREATE INDEX CONCURRENTLY ", 1)
            connection.execute(text(ddl))
            log.info("index %s built in %.1f s", index.name, time.perf_counter() - started)
            built.append(index.name)
    return built
