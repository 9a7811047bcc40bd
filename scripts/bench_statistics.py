"""Bench of 统计分析 over years of aggregates: is a year's report flat in the length of history?

Fills the statistics aggregates (stat_months, stat_strata, stat_cells) of a province with
`--cities` cities of 11 departments each (the city bureau and ten county bureaus) in the shape a
month of the history bench leaves (per department-month: five credit-risk classes, a dozen
result codes, two check months, the region and industry cells per class), first for one year,
then for `--years` years, and times `statistics.report` (the service behind the page, as the
system administrator): a city's year rolled up over its departments, the province's year, and a
city's whole span. PostgreSQL only; the database given is emptied.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python scripts/bench_statistics.py --years 10 --cities 11

Prints a table and writes bench-results/statistics.txt.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import benchenv

ROOT = benchenv.ROOT

with benchenv.requirements("alembic", "flask", "psycopg"):
    from sqlalchemy import create_engine, text

    from shuangsuiji.cli.db import alembic_config
    from shuangsuiji.db import Database, Department, User
    from shuangsuiji.db.states import Role
    from shuangsuiji.services.results import statistics as stats

FIRST_YEAR = 2026


def _reset(url: str) -> None:
    from alembic import command

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    command.upgrade(alembic_config(url), "head")


def _departments(session, cities: int) -> tuple[int, list[tuple[int, list[int]]], int]:
    province = Department(
        code="P", name="省市场监督管理局", kind="市场监管", level="province", region_code="130000"
    )
    session.add(province)
    session.flush()
    tree = []
    for c in range(cities):
        city = Department(
            code=f"C{c:02d}",
            name=f"第{c + 1}市市场监督管理局",
            kind="市场监管",
            level="city",
            region_code=f"13{c + 1:02d}00",
            parent_id=province.id,
        )
        session.add(city)
        session.flush()
        counties = []
        for k in range(10):
            county = Department(
                code=f"C{c:02d}K{k}",
                name=f"第{c + 1}市第{k + 1}县市场监督管理局",
                kind="市场监管",
                level="county",
                region_code=f"13{c + 1:02d}{k + 21:02d}",
                parent_id=city.id,
            )
            session.add(county)
            counties.append(county)
        session.flush()
        tree.append((city.id, [d.id for d in counties]))
    root = User(
        username="bench_root",
        display_name="bench",
        role=Role.SYSADMIN,
        password_hash="!",  # noqa: S106 (never signs in: no password matches)
    )
    session.add(root)
    session.flush()
    return province.id, tree, root.id


# Every department's months of the years :y0..:y1, per table (classes A B C D X, a dozen result
# codes, two check months, each class's region and 15 industry sections).
FILL = [
    "INSERT INTO stat_months (department_id, month, drawn, entered, published) SELECT d.id, "
    "mo.month, 235, 221, 204 FROM departments d, (SELECT make_date(y, m, 1) AS month FROM "
    "generate_series(CAST(:y0 AS int), CAST(:y1 AS int)) y, generate_series(1, 12) m) mo",
    "INSERT INTO stat_strata (department_id, month, stratum, population, visits, problems) "
    "SELECT d.id, mo.month, c.code, 5000 + 100 * ascii(c.code), 41, 6 FROM departments d, "
    "(SELECT make_date(y, m, 1) AS month FROM generate_series(CAST(:y0 AS int), CAST(:y1 AS "
    "int)) y, generate_series(1, 12) m) mo, (VALUES ('A'), ('B'), ('C'), ('D'), ('X')) "
    "c(code)",
    "INSERT INTO stat_cells SELECT d.id, mo.month, 'code', '', k.key, 20, 0 FROM departments "
    "d, (SELECT make_date(y, m, 1) AS month FROM generate_series(CAST(:y0 AS int), CAST(:y1 "
    "AS int)) y, generate_series(1, 12) m) mo, "
    "unnest(string_to_array('1,A,2,6,B,C,D,3,E,F,7,9', ',')) k(key)",
    "INSERT INTO stat_cells SELECT d.id, mo.month, 'checked', '', to_char(mo.month + i * "
    "interval '1 month', 'YYYY-MM'), 100, 15 FROM departments d, (SELECT make_date(y, m, 1) "
    "AS month FROM generate_series(CAST(:y0 AS int), CAST(:y1 AS int)) y, generate_series(1, "
    "12) m) mo, generate_series(0, 1) i",
    "INSERT INTO stat_cells SELECT d.id, mo.month, 'region', c.code, d.region_code, 41, 6 "
    "FROM departments d, (SELECT make_date(y, m, 1) AS month FROM generate_series(CAST(:y0 AS"
    " int), CAST(:y1 AS int)) y, generate_series(1, 12) m) mo, (VALUES ('A'), ('B'), ('C'), "
    "('D'), ('X')) c(code)",
    "INSERT INTO stat_cells SELECT d.id, mo.month, 'industry', c.code, chr(65 + s),"
    " CASE WHEN s < 11 THEN 3 ELSE 2 END, CASE WHEN s < 6 THEN 1 ELSE 0 END FROM"
    " departments d, (SELECT make_date(y, m, 1) AS month FROM generate_series(CAST(:y0 AS "
    "int), CAST(:y1 AS int)) y, generate_series(1, 12) m) mo, (VALUES ('A'), ('B'), ('C'), "
    "('D'), ('X')) c(code), generate_series(0, 14) s",
]


YEARS = (
    "INSERT INTO stat_cell_years SELECT department_id, CAST(EXTRACT(YEAR FROM month) AS int) y,"
    " dimension, stratum, key, SUM(visits), SUM(problems) FROM stat_cells"
    " WHERE month >= make_date(CAST(:y0 AS int), 1, 1)"
    " AND month < make_date(CAST(:y1 AS int) + 1, 1, 1)"
    " GROUP BY department_id, y, dimension, stratum, key"
)


def _fill(connection, years: range) -> None:
    """Every department's months of these years, one INSERT … SELECT per shape."""
    bounds = {"y0": years.start, "y1": years.stop - 1}
    for statement in FILL:
        connection.execute(text(statement), bounds)
    connection.execute(text(YEARS), bounds)
    connection.execute(text("ANALYZE"))


def _time(db: Database, root_id: int, n: int, **query) -> tuple[float, float, float, int]:
    """Median and max wall time, median CPU time of this process (the machine may be shared:
    the CPU time is the report's own Python work, the wall time includes PostgreSQL's)."""
    times, cpu = [], []
    for _ in range(n):
        with db.transaction(write=False) as session:
            root = session.get(User, root_id)
            started, used = time.perf_counter(), time.process_time()
            rep = stats.report(session, root, **query)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - used) * 1000)
    return statistics.median(times), max(times), statistics.median(cpu), rep.total.drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--cities", type=int, default=11)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    if not (args.database_url or "").startswith("postgresql"):
        parser.error("a PostgreSQL database (--database-url or BENCH_DATABASE_URL) is needed")
    _reset(args.database_url)
    db = Database(create_engine(args.database_url))
    with db.transaction() as session:
        province, tree, root = _departments(session, args.cities)
    city = tree[0][0]
    last = FIRST_YEAR + args.years - 1
    cases = [
        ("a city's year, rolled up (11 departments)", {"department_id": city}),
        (f"the province's year ({args.cities * 11 + 1} departments)", {"department_id": province}),
    ]
    rows = []
    for label, span in (("1 year", range(FIRST_YEAR, FIRST_YEAR + 1)),):
        with db.engine.begin() as connection:
            _fill(connection, span)
        for name, query in cases:
            rows.append((label, name, *_time(db, root, args.runs, year=FIRST_YEAR, **query)))
    with db.engine.begin() as connection:
        _fill(connection, range(FIRST_YEAR + 1, last + 1))
    label = f"{args.years} years"
    for name, query in cases:
        rows.append((label, name, *_time(db, root, args.runs, year=last, **query)))
    whole = {"department_id": city, "year": FIRST_YEAR, "to_year": last}
    rows.append(
        (label, f"a city's {args.years} years at once", *_time(db, root, args.runs, **whole))
    )
    with db.engine.connect() as connection:
        cells = connection.execute(text("SELECT count(*) FROM stat_cells")).scalar()
    lines = [
        f"statistics.report on PostgreSQL, {args.cities} cities × 11 departments, "
        f"{cells:,} aggregate cells in all; median and max of {args.runs} runs",
        f"{'history':<10} {'report':<42} {'p50 ms':>8} {'max ms':>8} {'cpu ms':>8} {'drawn':>10}",
    ]
    for history, name, p50, worst, cpu, drawn in rows:
        lines.append(f"{history:<10} {name:<42} {p50:>8.1f} {worst:>8.1f} {cpu:>8.1f} {drawn:>10,}")
    lines.append(
        f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    text_ = "\n".join(lines)
    print(text_)
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    Path(out / "statistics.txt").write_text(text_ + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
