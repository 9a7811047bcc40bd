"""Running the command line in child processes, for the fault tests: the environment a child
needs, waiting on what it does, and killing a worker between two writes of one transaction.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from shuangsuiji.cli import run; run()"]


def cli_env(url: str, **settings) -> dict:
    """The environment of a child process on the database at `url`, with `settings` given as
    SHUANGSUIJI_<NAME> (WORKER_STALE_MINUTES=0, …); this checkout first on the path."""
    env = dict(os.environ)
    env.update(
        SHUANGSUIJI_ENV="testing",
        SHUANGSUIJI_DATABASE_URL=url,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        **{f"SHUANGSUIJI_{name}": str(value) for name, value in settings.items()},
    )
    env.pop("TEST_DATABASE_URL", None)
    return env


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.1) -> bool:
    """Poll `predicate` (a child process's progress) until it holds or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def kill_worker_waiting_on(engine, env: dict, table: str) -> None:
    """Start a worker, let it run until it waits for `table` (held here in SHARE mode, so its
    first write there blocks inside its transaction), and SIGKILL it there (PostgreSQL)."""
    blocker = engine.connect()
    blocker.begin()
    blocker.execute(text(f"LOCK TABLE {table} IN SHARE MODE"))
    worker = subprocess.Popen(
        [*CLI, "worker", "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND query ILIKE :table AND pid <> pg_backend_pid()"
    )

    def waiting_on_the_lock() -> bool:
        with engine.connect() as probe:
            return bool(probe.scalar(waiting, {"table": f"%{table}%"}))

    try:
        assert wait_for(waiting_on_the_lock), f"the worker never reached {table}"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
        blocker.rollback()
        blocker.close()
