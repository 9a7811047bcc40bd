#!/usr/bin/env python
"""Bench the scheduler of recurring plans (issue 5's figures).

  .venv/bin/python scripts/bench_scheduler.py [--entities 50000] [--processes 4]
  BENCH_DATABASE_URL=postgresql+psycopg://… .venv/bin/python scripts/bench_scheduler.py

A monthly plan for 2027 (activated on 20 December 2026) over a registry of `--entities`
entities in classes A/B/C/D (65/25/8/2%) at yearly ratios 3/5/10/30% and 2 slots from
`--inspectors` inspectors. First `--processes` scheduler processes start at once with the clock
at 2 March 2027 (three batches due after two months of downtime): the wall time, what each
process did and the draws per batch are printed. Then the rest of the year is drawn batch by
batch in this process, each ensure-due timed, and the year's total per class is compared with
its target. The database is a new SQLite file unless BENCH_DATABASE_URL names a PostgreSQL
database (it is emptied first). Figures go to bench-results/scheduler.txt.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time

import benchenv  # scripts/benchenv.py: sys.path, and a clear line when a module is missing

ROOT = benchenv.ROOT

with benchenv.requirements():
    from alembic import command
    from sqlalchemy import func, select, text

    from shuangsuiji.cli import synthetic
    from shuangsuiji.cli.db import alembic_config
    from shuangsuiji.db import (
        Database,
        Department,
        Draw,
        DrawEntity,
        Entity,
        Inspector,
        Matter,
        Plan,
        User,
        make_engine,
    )
    from shuangsuiji.scheduler import batch_jobs
    from shuangsuiji.services.accounts.passwords import hash_password
    from shuangsuiji.services.plans import batches, eligibility, plans, settings
    from shuangsuiji.services.platform.workdays import Calendar

CLASSES = (("A", 0.65, "0.03"), ("B", 0.25, "0.05"), ("C", 0.08, "0.1"), ("D", 0.02, "0.3"))
TIMING = batches.Timing.from_config(
    {"SCHEDULER_BATCH_TIME": "09:00", "TIMEZONE": "Asia/Shanghai", "SCHEDULER_RETRY_MINUTES": 60}
)


def beijing(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TIMING.tz).astimezone(dt.UTC)


def setup(url: str, n_entities: int, n_inspectors: int) -> int:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    command.upgrade(alembic_config(url), "head")
    db = Database(engine)
    rng = random.Random(5)
    regions = ("131002", "131003", "131022", "131023")
    with db.transaction() as session:
        dept = Department(
            code="BENCH", name="基准测试局", kind="市场监管", level="city", region_code="131000"
        )
        session.add(dept)
        session.flush()
        admin = User(
            username="bench",
            display_name="基准",
            role="dept_admin",
            department_id=dept.id,
            password_hash=hash_password(secrets.token_urlsafe(16)),  # nobody signs in
        )
        matter = Matter(department_id=dept.id, code="M-1", name="企业公示信息检查")
        session.add_all([admin, matter])
        session.flush()
        weights = [w for _, w, _ in CLASSES]
        codes = [c for c, _, _ in CLASSES]
        seen = set()
        rows = []
        while len(rows) < n_entities:
            region = regions[len(rows) % len(regions)]
            uscc = synthetic.make_uscc(rng, region, "有限责任公司")
            if uscc in seen:
                continue
            seen.add(uscc)
            rows.append(
                {
                    "department_id": dept.id,
                    "uscc": uscc,
                    "name": f"基准企业{len(rows)}",
                    "region_code": region,
                    "status": "存续",
                    "risk_class": rng.choices(codes, weights)[0],
                }
            )
        session.execute(Entity.__table__.insert(), rows)
        session.execute(
            Inspector.__table__.insert(),
            [
                {
                    "department_id": dept.id,
                    "name": f"检查员{i}",
                    "cert_no": f"B{i:06d}",
                    "region_code": regions[i % len(regions)],
                    "status": "active",
                }
                for i in range(n_inspectors)
            ],
        )
        plan = plans.create(
            session,
            actor=admin,
            department_id=dept.id,
            raw={
                "code": "BENCH-2027",
                "title": "2027 年度基准计划",
                "strata": {c: {"ratio": r} for c, _, r in CLASSES} | {"X": {"ratio": "0.05"}},
                "slots": ["BENCH", "BENCH"],
                "workload_cap": 1000,
                "matter_ids": [matter.id],
                "recurrence": "monthly",
                "plan_year": 2027,
                "randomness": settings.SERVER_ONLY,
            },
        )
        batches.activate(
            session, actor=admin, plan_id=plan.id, now=beijing(2026, 12, 20, 10), timing=TIMING
        )
        plan_id = plan.id
    engine.dispose()
    return plan_id


def race(url: str, n: int) -> tuple[float, list[str]]:
    env = dict(os.environ, SHUANGSUIJI_ENV="testing", SHUANGSUIJI_DATABASE_URL=url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    args = [
        sys.executable,
        "-c",
        "from shuangsuiji.cli import run; run()",
        *("scheduler", "run", "--once", "--now", "2027-03-02T10:00+08:00"),
    ]
    start = time.perf_counter()
    procs = [
        subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # noqa: S603
        for _ in range(n)
    ]
    outputs = [p.communicate(timeout=1800)[0].decode() for p in procs]
    wall = time.perf_counter() - start
    return wall, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--entities", type=int, default=50000)
    parser.add_argument("--inspectors", type=int, default=200)
    parser.add_argument("--processes", type=int, default=4)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp.name}/bench.db"
    lines = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    started = time.perf_counter()
    plan_id = setup(url, args.entities, args.inspectors)
    backend = url.split(":", 1)[0]
    say(f"scheduler bench: {args.entities} entities, {args.inspectors} inspectors, {backend}")
    say(f"set-up (migrate, load, activate): {time.perf_counter() - started:.1f} s")

    wall, outputs = race(url, args.processes)
    say(f"{args.processes} processes at once, 3 batches due: {wall:.1f} s wall")
    for i, out in enumerate(outputs, 1):
        results = collections.Counter(line.split("\t")[2] for line in out.splitlines() if line)
        say(f"  process {i}: {dict(results) or 'nothing to do'}")
    engine = make_engine(url)
    db = Database(engine)
    with db.transaction(write=False) as session:
        per_batch = dict(
            session.execute(
                select(Draw.batch_key, func.count())
                .where(Draw.plan_id == plan_id)
                .group_by(Draw.batch_key)
            ).all()
        )
    say(f"  draws per batch: {per_batch}")

    say("the rest of the year, one ensure-due per batch (commit + draw + store):")
    with db.transaction(write=False) as session:
        plan = session.get(Plan, plan_id)
        entries = batches.schedule(plan, Calendar(), TIMING)
    for entry in entries[3:]:
        t0 = time.perf_counter()
        [outcome] = batch_jobs.ensure_due(
            db, now=entry.due + dt.timedelta(minutes=1), timing=TIMING
        )
        with db.transaction(write=False) as session:
            drawn = session.scalar(
                select(func.count())
                .select_from(DrawEntity)
                .where(DrawEntity.draw_id == outcome.draw_id)
            )
        took = time.perf_counter() - t0
        say(f"  {entry.period.key}: {outcome.result}, {drawn} drawn, {took:.2f} s")
    with db.transaction(write=False) as session:
        plan = session.get(Plan, plan_id)
        targets = batches.yearly_targets(plan, eligibility.in_scope_counts(session, plan))
        got = batches.drawn_per_class(session, plan)
    say(f"year: target {targets}")
    say(f"      drawn  {dict(sorted(got.items()))}")
    engine.dispose()
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "scheduler.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
