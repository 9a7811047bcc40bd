"""The scheduler as real processes on a scratch database (a SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set): two at once draw each due batch once; one that was down over month
ends catches up once at its restart; gunicorn with four workers never draws anything.
"""

from __future__ import annotations

import datetime as dt
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select

from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import Database, Draw, Matter, PlanBatch, User, make_engine
from shuangsuiji.db.states import Role
from shuangsuiji.services.plans import batches

from .. import factories
from ..draw_world import populate
from ..processes import CLI, ROOT, cli_env, wait_for
from ..recur_world import TIMING, active_plan, beijing


@pytest.fixture
def scratch(scratch_url):
    """A migrated scratch database holding an active monthly plan for 2027 (activated on
    20 December 2026), committed for other processes to see."""
    command.upgrade(alembic_config(scratch_url), "head")
    engine = make_engine(scratch_url)
    db = Database(engine)
    with db.transaction() as session:
        factories.bind(session)
        dept = factories.DepartmentFactory(code="DEPT-A")
        admin = factories.UserFactory(username="admin_a", role=Role.DEPT_ADMIN, department=dept)
        registry = populate(session, dept)
        plan = active_plan(session, admin, dept, registry["matter"])
        plan_id = plan.id
    factories.bind(None)
    yield scratch_url, db, plan_id
    engine.dispose()


def _counts(db, plan_id):
    with db.transaction(write=False) as session:
        draws_ = session.scalar(
            select(func.count()).select_from(Draw).where(Draw.plan_id == plan_id)
        )
        keys = list(
            session.scalars(
                select(PlanBatch.key)
                .where(PlanBatch.plan_id == plan_id, PlanBatch.status == "drawn")
                .order_by(PlanBatch.key)
            )
        )
    return draws_, keys


def test_two_schedulers_at_once_draw_each_due_batch_once(scratch):
    url, db, plan_id = scratch
    # 2 March 2027: January's, February's and March's batches are due.
    args = [*CLI, "scheduler", "run", "--once", "--now", "2027-03-02T10:00+08:00"]
    procs = [
        subprocess.Popen(args, env=cli_env(url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
    assert _counts(db, plan_id) == (3, ["2027-01", "2027-02", "2027-03"])
    drawn = [line for out, _ in outputs for line in out.decode().splitlines() if "\tdrawn" in line]
    assert sorted(line.split("\t")[1] for line in drawn) == ["2027-01", "2027-02", "2027-03"]


def _start_scheduler(url, now, log_path):
    """A long-running scheduler whose log goes to `log_path` (read while it runs)."""
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [*CLI, "scheduler", "run", "--now", now],
            env=cli_env(url),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def _stop(proc, log_path) -> str:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    log = Path(log_path).read_text()
    assert proc.returncode == 0, log
    assert "scheduler stopped" in log
    return log


def test_a_scheduler_down_over_month_ends_catches_up_once_at_restart(scratch, tmp_path):
    url, db, plan_id = scratch
    log_path = tmp_path / "scheduler.log"

    def started() -> bool:
        return "scheduler started" in log_path.read_text()

    # Running on 5 January: January's batch is drawn at start-up.
    proc = _start_scheduler(url, "2027-01-05T10:00+08:00", log_path)
    assert wait_for(started, timeout=120)
    assert _counts(db, plan_id)[0] == 1
    _stop(proc, log_path)
    # Down until 2 March; restarted, it draws February and March, once each ...
    proc = _start_scheduler(url, "2027-03-02T10:00+08:00", log_path)
    assert wait_for(started, timeout=120)
    assert _counts(db, plan_id)[0] == 3
    assert "'tick'" in _stop(proc, log_path)
    # ... and a second restart draws nothing more.
    proc = _start_scheduler(url, "2027-03-02T11:00+08:00", log_path)
    assert wait_for(started, timeout=120)
    _stop(proc, log_path)
    assert _counts(db, plan_id) == (3, ["2027-01", "2027-02", "2027-03"])


def test_sigterm_during_the_catch_up_stops_the_scheduler(scratch, tmp_path):
    url, db, plan_id = scratch
    log_path = tmp_path / "scheduler.log"
    proc = _start_scheduler(url, "2027-03-02T10:00+08:00", log_path)
    assert wait_for(lambda: "catching up" in log_path.read_text(), timeout=120)
    _stop(proc, log_path)  # at once: mid catch-up, or just after it
    drawn, keys = _counts(db, plan_id)
    assert drawn == len(keys) <= 3  # whatever it drew, it drew once and recorded


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_with_four_workers_never_draws(scratch):
    url, db, _ = scratch
    last_year = dt.datetime.now(dt.UTC).year - 1
    with db.transaction() as session:  # a plan of last year: all its batches are due by now
        factories.bind(session)
        admin = session.scalar(select(User).where(User.username == "admin_a"))
        plan = active_plan(
            session,
            admin,
            admin.department,
            session.scalar(select(Matter)),
            code="PAST",
            year=last_year,
            activated=beijing(last_year - 1, 12, 20, 10),
        )
        plan_id = plan.id
    factories.bind(None)
    with db.transaction(write=False) as session:
        due = batches.due(session, dt.datetime.now(dt.UTC), TIMING)
    assert len([d for d in due if d[0] == plan_id]) == 12
    port = _free_port()
    env = cli_env(url) | {"PORT": str(port)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "-w", "4", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def serving() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        assert wait_for(serving, timeout=90)
        for _ in range(20):  # every worker gets requests for a few seconds
            assert serving()
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=60)
    assert "Booting worker" in err and err.count("Booting worker") == 4
    assert _counts(db, plan_id) == (0, [])
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Draw)) == 0
