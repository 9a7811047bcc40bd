"""Engine and session set-up, SQLite pragmas, and the transaction helper.

SQLite is the embedded default: WAL so readers never wait for the writer, a busy timeout, and
BEGIN IMMEDIATE for sessions that will write, so two writers queue instead of failing with
"database is locked" half-way through a transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, echo: bool = False, busy_timeout_ms: int = 15000) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": busy_timeout_ms / 1000})
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Take transaction control away from pysqlite so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """The app's database: one engine, a reading and a writing session factory."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        self.bound = False  # see bound_to
        writer = (
            engine.execution_options(sqlite_immediate=True) if self.dialect == "sqlite" else engine
        )
        self.read_sessions = sessionmaker(bind=engine, expire_on_commit=False)
        self.write_sessions = sessionmaker(bind=writer, expire_on_commit=False)
        # Single-statement reads (the public look-up): on PostgreSQL in autocommit, which saves
        # the BEGIN and COMMIT round trips; the pool resets the connection when it returns.
        self.lookup_sessions = (
            sessionmaker(
                bind=engine.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
            )
            if self.dialect == "postgresql"
            else self.read_sessions
        )

    @classmethod
    def bound_to(cls, connection) -> Database:
        """A Database whose sessions run inside `connection`'s transaction as savepoints.

        Tests use it so that everything a test does, commits included, is rolled back after.
        """
        db = cls.__new__(cls)
        db.engine = connection.engine
        db.dialect = connection.dialect.name
        db.bound = True
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        db.read_sessions = db.write_sessions = factory
        db.lookup_sessions = None  # one connection: its savepoints must nest, so one session
        return db

    def session(self, *, write: bool = True) -> Session:
        return (self.write_sessions if write else self.read_sessions)()

    def lookup_session(self) -> Session | None:
        """A session for reads that are one statement each (no transaction is needed); None
        when bound to one connection, where the request's own session must serve."""
        return self.lookup_sessions() if self.lookup_sessions is not None else None

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """Open a session, yield it, commit on success, roll back on error, always close."""
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
