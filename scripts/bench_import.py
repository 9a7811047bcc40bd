#!/usr/bin/env python
"""Bench the registry import and search (issue 3's figures).

  .venv/bin/python scripts/bench_import.py [--rows 1000000] [--xlsx-rows 1000000]

The XLSX is imported twice: into a second department once the CSV's rows are in, and into an
empty registry (a new database), the figure.

Needs PostgreSQL: the server of BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local
one. Works in its own database, named after that URL's with `_bench` appended (created, then
dropped), so two people benching on one server do not collide. Prints the figures (and the
import's phase timings, logged by the import service) and writes them to
bench-results/import.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import benchenv  # scripts/benchenv.py: sys.path, and a clear line when a module is missing

ROOT = benchenv.ROOT

with benchenv.requirements("alembic", "flask", "psycopg"):
    from sqlalchemy import create_engine, make_url, text

    from shuangsuiji.cli import synthetic

COLUMNS = (
    "uscc",
    "name",
    "entity_type",
    "industry_code",
    "region_code",
    "registration_authority",
    "supervising_unit",
    "grid",
    "registered_on",
    "status",
    "address",
    "risk_class",
)


def reset_peak_rss() -> None:
    """Start this process's peak resident size (VmHWM) afresh (Linux: clear_refs 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss() -> str:
    """This process's peak resident size since reset_peak_rss (its checking processes are
    not counted: ru_maxrss would count the parent's size at their fork)."""
    status = Path("/proc/self/status").read_text()
    own = int(status.split("VmHWM:")[1].split()[0]) / 1024
    return f"peak RSS of the import's process {own:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=20)
    args = parser.parse_args()
    base = (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    bench_db = f"{make_url(base).database}_bench"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    url = make_url(base).set(database=bench_db).render_as_string(hide_password=False)
    os.environ["SHUANGSUIJI_DATABASE_URL"] = url
    os.environ.setdefault("SHUANGSUIJI_ENV", "development")
    phases = logging.StreamHandler(sys.stdout)
    phases.setFormatter(logging.Formatter("  %(message)s"))
    for name in ("shuangsuiji.services.registry.imports", "shuangsuiji.worker.imports"):
        imports_log = logging.getLogger(name)
        imports_log.addHandler(phases)
        imports_log.setLevel(logging.INFO)
        imports_log.propagate = False
    lines: list[str] = []

    def report(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    from shuangsuiji.cli import demo_data as demo
    from shuangsuiji.cli.registry import ImportOptions, import_file

    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    xlsx_path = work / "entities.xlsx"

    def import_xlsx(app, where: str) -> None:
        with app.app_context():
            job, elapsed, ready = timed_import(
                import_file,
                xlsx_path,
                kind="entities",
                username="xh_admin",
                department_code="LF-XH-SAMR",
                options=ImportOptions(quiet=True),
            )
        report(
            f"import XLSX → PostgreSQL, {where}: {job.rows_read:,} rows committed in "
            f"{elapsed:.1f} s (status {job.status}); its search indexes built by {ready:.1f} s; "
            f"{peak_rss()}"
        )

    app = fresh_app(admin, bench_db, url)
    db = app.extensions["shuangsuiji.db"]
    csv_path = work / "entities-gbk.csv"
    started = time.perf_counter()
    synthetic.write(
        "entities",
        synthetic.entities(random.Random(1), args.rows),
        csv_path,
        encoding="gbk",
        columns=COLUMNS,
    )
    report(
        f"generated {args.rows:,}-row GBK CSV ({csv_path.stat().st_size / 1e6:.0f} MB, "
        f"{len(COLUMNS)} columns) in {time.perf_counter() - started:.1f} s"
    )

    with app.app_context():
        job, elapsed, ready = timed_import(
            import_file,
            csv_path,
            kind="entities",
            username="lf_admin",
            department_code="LF-SAMR",
            options=ImportOptions(quiet=True),
        )
    rate = job.rows_read / elapsed
    report(
        f"import GBK CSV → PostgreSQL: {job.rows_read:,} rows committed in {elapsed:.1f} s = "
        f"{rate:,.0f} rows/s (inserted {job.inserted:,}, rejected {job.rejected:,}, "
        f"status {job.status}); its search indexes built by {ready:.1f} s; "
        f"{peak_rss()}"
    )

    raw = db.engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        cursor.execute(
            "CREATE TABLE bare (" + ", ".join(f"c{i} text" for i in range(len(COLUMNS))) + ")"
        )
        started = time.perf_counter()
        with (
            csv_path.open("rb") as source,
            cursor.copy(
                "COPY bare FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'GBK')"
            ) as copy,
        ):
            while chunk := source.read(1 << 20):
                copy.write(chunk)
        raw.driver_connection.commit()
        copy_elapsed = time.perf_counter() - started
    finally:
        raw.close()
    copy_rate = args.rows / copy_elapsed
    report(
        f"raw COPY of the same file into a bare table: {copy_elapsed:.1f} s = "
        f"{copy_rate:,.0f} rows/s; import/COPY = {rate / copy_rate:.0%}"
    )

    client = app.test_client()
    page = client.get("/console/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/console/login",
        data={"username": "lf_admin", "csrf_token": token, "password": demo.DEMO_STAFF_PASSWORD},
    )
    for term in ("恒达", "商贸有限公司12", "不存在的名字"):
        timings = []
        for _ in range(args.searches):
            started = time.perf_counter()
            response = client.get("/console/entities", query_string={"q": term})
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        report(
            f"console search by name {term!r} on {args.rows:,} entities: median "
            f"{statistics.median(timings):.0f} ms, max {max(timings):.0f} ms per page"
        )

    xlsx_path = work / "entities.xlsx"
    if args.xlsx_rows:
        started = time.perf_counter()
        synthetic.write(
            "entities",
            synthetic.entities(random.Random(2), args.xlsx_rows, region_prefix="131024"),
            xlsx_path,
            columns=COLUMNS,
        )
        report(
            f"generated {args.xlsx_rows:,}-row XLSX ({xlsx_path.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        import_xlsx(app, f"another department, beside the {args.rows:,} entities above")
        import_xlsx(fresh_app(admin, bench_db, url), "an empty registry")
    finish(lines, admin, bench_db)


def fresh_app(admin, bench_db: str, url: str):
    """A new bench database, migrated, with the demo departments and users; its app."""
    from alembic import command

    from shuangsuiji.app import create_app
    from shuangsuiji.cli import demo_data as demo
    from shuangsuiji.cli.db import alembic_config

    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{bench_db}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{bench_db}"'))
    command.upgrade(alembic_config(url), "head")
    app = create_app()
    with app.extensions["shuangsuiji.db"].transaction() as session:
        demo.load(session)
    return app


def timed_import(import_file, path: Path, **options):
    """Run a CLI import: the job, the seconds until its rows were committed (the job's
    applied_at: the list is complete and searchable from then on), and the seconds until the
    command returned (the indexes a bulk import builds after its commit are then built)."""
    reset_peak_rss()
    started, wall = time.perf_counter(), dt.datetime.now(dt.UTC)
    job = import_file(path, **options)
    ready = time.perf_counter() - started
    committed = (job.applied_at - wall).total_seconds() if job.applied_at else ready
    return job, committed, ready


def finish(lines: list[str], admin, bench_db: str) -> None:
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "import.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{bench_db}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
