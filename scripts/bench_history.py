#!/usr/bin/env python
"""Bench years of history (issue 19's figures): is every page flat as the records pile up?

  .venv/bin/python scripts/bench_history.py [--years 10] [--cities 1] [--out FILE]
                [--database bench_history] [--requests 20] [--small] [--entities N]

Builds a scratch PostgreSQL database (`--database`, on the server of BENCH_DATABASE_URL, else
the local one at 127.0.0.1:5432; dropped and created again) holding `--years` years of a
city's history (shuangsuiji/cli/history.py): 廊坊 with ten county bureaus under the city
bureau, 270,000 entities, 1,197 inspectors, 487 matters, and each month about 144 draws
(one-off plans, each bureau's recurring plan, a joint plan twice a year) and 2,600 checked
firms, every result entered, submitted, approved and published, 经营异常名录 listings, credit
events, outbox messages and the audit trail. The first month is made through the services at
its own dates; every later month is a copy of it made by the database (INSERT … SELECT), the
audit entries hashed again onto the chain. `--cities 11` builds a province's year instead
(eleven such cities, `--years` defaults to 1 then).

Then, after the first year and at the end (so that the figures sit side by side), it times
with the Flask test client, in this process (no network, no gunicorn: the application's own
cost), `--requests` requests (after one warm-up) of every console page, API list and public
page that takes no argument or one the bench can fill (a recent plan, draw, listing, the
county inspector…), as the system administrator, a province auditor, the city administrator,
a county inspector and an anonymous citizen: median, p95 and the response's size. Also: the
yearly statistics of the last full year for all departments, `shuangsuiji audit verify
--full` (the whole chain but the last month) and `shuangsuiji audit verify` (the last month,
since that checkpoint), and the database's size after each year. The table goes to stdout
and to bench-results/history.txt (or `--out`). Other work on the machine skews every figure;
the load average is printed with them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import time
from pathlib import Path

import benchenv  # scripts/benchenv.py: sys.path, and a clear line when a module is missing

ROOT = benchenv.ROOT

with benchenv.requirements("alembic", "flask", "psycopg", "time_machine"):
    from sqlalchemy import create_engine, make_url, text

    from shuangsuiji.cli import history
    from shuangsuiji.services.plans import tallies

# A page is slow when its median or p95 is over these (the issue's targets), big when over SIZE.
P50_MS, P95_MS, SIZE = 100, 300, 200 * 1024
# GET routes that are downloads or forms, not pages or lists.
SKIP = re.compile(
    r"(/bundle|/file$|/rejects|\.(csv|xlsx)|/export|/new$|/edit$|/login|/logout|/password"
    r"|/static/|/openapi|/docs|/redoc|/swagger|/livez|/readyz|/notices/|/ceremony$|/verify$)"
)


class Recorder:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def database_size(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT pg_database_size(current_database())"))


# --- building ------------------------------------------------------------------------------------


class Builder:
    """The history, month by month, with the sizes and the verification checkpoints."""

    def __init__(self, db, scale: history.Scale, first: dt.date, months: int, say: Recorder):
        self.db, self.scale, self.first, self.months, self.say = db, scale, first, months, say
        self.sizes: list[tuple[str, int]] = []
        self.tmpl = None
        self.writer = None
        self.done = 0  # months built

    def start(self, cities: int) -> history.World:
        started = time.perf_counter()
        with history.Clock(history.month_start(self.first.year, self.first.month, -1)).at(1):
            world = history.build_registry(self.db, self.scale, cities=cities)
        self.say(
            f"registry: {len(world.departments)} bureaus, {self.scale.entities * cities:,} "
            f"entities, {self.scale.inspectors * cities:,} inspectors, "
            f"{self.scale.matters * cities:,} matters in {time.perf_counter() - started:.0f} s"
        )
        with self.db.engine.connect() as connection:
            marks = history.baseline(connection)
        started = time.perf_counter()
        log = history.service_month(self.db, world, self.first, self.scale)
        self.say(
            f"{self.first:%Y-%m} through the services: {len(log.draws)} draws, "
            f"{log.records:,} results published, {log.listed} listed, "
            f"{log.delivered:,} webhooks delivered, "
            f"in {time.perf_counter() - started:.0f} s"
        )
        with self.db.engine.begin() as connection:
            self.tmpl = history.template(
                connection,
                marks,
                self.first,
                months=self.months,
                shifts=history.city_shifts(world, self.scale),
                cities=cities,
            )
            self.writer = history.AuditWriter(connection, self.tmpl)
        self.done = 1
        return world

    def copy_cities(self, cities: int) -> None:
        """The other cities' first month: the template moved to their registries."""
        started = time.perf_counter()
        for c in range(1, cities):
            with self.db.engine.begin() as connection:
                history.copy_month(connection, self.tmpl, 0, city=c)
                self.writer.write(connection, 0, city=c)
        if cities > 1:
            self.say(
                f"{cities - 1} more cities' month copied in {time.perf_counter() - started:.0f} s"
            )

    def copy_until(self, months: int, cities: int = 1) -> None:
        started = time.perf_counter()
        entries = 0
        first_k = self.done
        for k in range(self.done, months):
            with self.db.engine.begin() as connection:
                for c in range(cities):
                    history.copy_month(connection, self.tmpl, k, city=c)
                    entries += self.writer.write(connection, k, city=c)
            self.done = k + 1
            if self.done % 12 == 0:
                self.sizes.append((f"{self.done // 12} y", database_size(self.db.engine)))
        if months > first_k:
            self.say(
                f"months {first_k + 1}–{months} copied ({entries:,} audit entries) in "
                f"{time.perf_counter() - started:.0f} s"
            )

    def settle(self, today: dt.date) -> None:
        """What the scheduler would have done by `today`: sequences past the copies, the
        daily checkpoints; the newest month still at work; fresh planner statistics."""
        with self.db.engine.begin() as connection:
            history.reset_sequences(connection)
            history.set_month_status(connection, self.tmpl, self.done - 1, open_=True)
        history.housekeep(self.db, dt.datetime.now(dt.UTC))
        history.checkpoints(self.db, today)
        # The copies bypass the services: the statistics aggregates are recomputed from the
        # records, as `shuangsuiji statistics rebuild` does after an upgrade.
        started = time.perf_counter()
        with self.db.transaction() as session:
            months = tallies.rebuild(session)
        took = time.perf_counter() - started
        self.say(f"statistics rebuilt: {months} department-months in {took:.1f} s")
        with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE"))

    def unsettle(self) -> None:
        with self.db.engine.begin() as connection:
            history.set_month_status(connection, self.tmpl, self.done - 1, open_=False)


# --- measuring -----------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


class Statements:
    """The SQL statements of one request, with their times (for the slow pages' evidence)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.on = False
        self.seen: list[tuple[float, str]] = []
        self._started: list[float] = []

        @event.listens_for(engine, "before_cursor_execute")
        def before(*_args):
            self._started.append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def after(_conn, _cursor, statement, parameters, _context, _many):
            began = self._started.pop() if self._started else time.perf_counter()
            if self.on:
                self.seen.append((time.perf_counter() - began, statement))

    def summary(self) -> str:
        total = sum(t for t, _ in self.seen) * 1000
        slowest = max(self.seen, default=(0.0, ""))
        text_ = " ".join(slowest[1].split())[:160]
        return (
            f"{len(self.seen)} statements, {total:.0f} ms in SQL; "
            f"slowest {slowest[0] * 1000:.0f} ms: {text_}"
        )


def timed(client, url: str, n: int, headers: dict, recorder: Statements | None = None) -> tuple:
    """(status, p50 ms, p95 ms, bytes, the warm-up request's statements)."""
    if recorder is not None:
        recorder.on, recorder.seen = True, []
    response = client.get(url, headers=headers)  # warm-up; also the status and the size
    evidence = ""
    if recorder is not None:
        recorder.on = False
        evidence = recorder.summary()
    status, size = response.status_code, len(response.get_data())
    if status != 200:
        return status, 0.0, 0.0, size, evidence
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        response.get_data()
        times.append((time.perf_counter() - started) * 1000)
    return status, statistics.median(times), percentile(times, 0.95), size, evidence


def routes(app, sample: dict) -> list[str]:
    """Every GET route that is a page or a list, its arguments filled from `sample`."""
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or SKIP.search(rule.rule):
            continue
        if rule.endpoint == "static" or any(a not in sample for a in rule.arguments):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:[^:>]+:)?{arg}>", str(sample[arg]), url)
            url = re.sub(rf"<[^>]*:{arg}>", str(sample[arg]), url)
        found.append(url)
    return sorted(set(found))


def sample_ids(engine, world: history.World) -> dict:
    """Ids of recent objects for the routes' arguments: the city's newest plan and draw, its
    newest listing, a published firm, the county inspector."""
    queries = {
        "plan_id": "SELECT max(id) FROM plans WHERE department_id = :city",
        "draw_id": "SELECT max(id) FROM draws WHERE plan_id IN "
        "(SELECT id FROM plans WHERE department_id = :city)",
        "listing_id": "SELECT max(id) FROM abnormal_listings WHERE department_id = :city",
        "uscc": "SELECT uscc FROM inspection_records WHERE status = 'published' "
        "AND department_id = :city ORDER BY id DESC LIMIT 1",
        "entity_id": "SELECT min(id) FROM entities WHERE department_id = :city",
        "matter_id": "SELECT min(id) FROM matters WHERE department_id = :city",
    }
    with engine.connect() as connection:
        sample = {
            k: connection.scalar(text(q), {"city": world.city_ids[0]}) for k, q in queries.items()
        }
    sample |= {
        "inspector_id": world.inspector_id,
        "department_id": world.city_ids[0],
        "user_id": world.inspector_user_id,
        "position": 0,
    }
    return {k: v for k, v in sample.items() if v is not None}


def login(client, username: str) -> None:
    html = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post(
        "/console/login",
        data={"username": username, "password": history.PASSWORD, "csrf_token": token},
    )
    if response.status_code != 302:
        raise SystemExit(f"bench_history.py: {username} could not sign in")


def api_token(app, user_id: int) -> str:
    from shuangsuiji.db import User
    from shuangsuiji.services.accounts import tokens

    db = app.extensions["shuangsuiji.db"]
    with db.transaction() as session:
        user = session.get(User, user_id)
        _, secret = tokens.issue(
            session, actor=user, name="bench", scope="read", days=1, max_days=365
        )
    return secret


def measure_pages(app, world: history.World, sample: dict, n: int) -> dict:
    """(role, url) → (status, p50, p95, bytes)."""
    urls = routes(app, sample)
    roles = {
        "系统管理员": world.sysadmin_id,
        "省局审计": world.auditor_id,
        "市局管理员": world.admins[world.city_ids[0]],
        "县局检查员": world.inspector_user_id,
        "公众": None,
    }
    names = user_names(app, roles)
    recorder = Statements(app.extensions["shuangsuiji.db"].engine)
    figures = {}
    for role, user_id in roles.items():
        client = app.test_client()
        headers = {}
        if user_id is not None:
            login(client, names[user_id])
            headers = {"Authorization": f"Bearer {api_token(app, user_id)}"}
        for url in urls:
            public = url.startswith(("/public", "/api/v1/public")) or url in ("/", "/matters")
            if user_id is None and not public:
                continue
            if user_id is not None and public:
                continue
            api_headers = headers if url.startswith("/api/") else {}
            figures[(role, url)] = timed(client, url, n, api_headers, recorder)
    return figures


def user_names(app, roles: dict) -> dict:
    from shuangsuiji.db import User

    with app.extensions["shuangsuiji.db"].transaction(write=False) as session:
        return {uid: session.get(User, uid).username for uid in roles.values() if uid is not None}


def measure_statistics(app, world: history.World, year: int, n: int) -> tuple[float, float]:
    """The yearly statistics for all departments, as the system administrator (the service
    itself, without the page around it)."""
    from shuangsuiji.db import User
    from shuangsuiji.services.results import statistics as stats

    db = app.extensions["shuangsuiji.db"]
    times = []
    for _ in range(max(3, n // 4)):
        with db.transaction(write=False) as session:
            root = session.get(User, world.sysadmin_id)
            started = time.perf_counter()
            stats.report(session, root, year=year)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def verify(app, *args: str) -> tuple[float, str]:
    from shuangsuiji.cli import audit as audit_cli

    runner = app.test_cli_runner()
    started = time.perf_counter()
    result = runner.invoke(audit_cli.group, ["verify", *args])
    elapsed = time.perf_counter() - started
    last = (result.output.strip().splitlines() or ["(no output)"])[-1]
    if result.exit_code != 0:
        raise SystemExit(f"bench_history.py: audit verify {' '.join(args)} failed: {last}")
    return elapsed, last


# --- the table -----------------------------------------------------------------------------------


def table(say: Recorder, runs: dict[str, dict]) -> list[str]:
    """One line per (role, url): the figures of each run side by side; returns the slow ones."""
    labels = list(runs)
    keys = sorted({key for figures in runs.values() for key in figures})
    head = " | ".join(f"{label}: p50 / p95 ms, KB" for label in labels)
    say(f"| role | url | {head} |")
    say("|---|---|" + "---|" * len(labels))
    slow = []
    for key in keys:
        cells = []
        for label in labels:
            figure = runs[label].get(key)
            if figure is None:
                cells.append("–")
                continue
            status, p50, p95, size, evidence = figure
            if status != 200:
                cells.append(f"{status}")
                continue
            mark = ""
            if p50 > P50_MS or p95 > P95_MS or size > SIZE:
                mark = " ⚠"
                slow.append(
                    f"{label} {key[0]} {key[1]}: {p50:.0f}/{p95:.0f} ms, {size / 1024:.0f} KB"
                )
            cells.append(f"{p50:.0f} / {p95:.0f}, {size / 1024:.0f}{mark}")
        say(f"| {key[0]} | `{key[1]}` | " + " | ".join(cells) + " |")
        growth = [runs[label].get(key) for label in (labels[0], labels[-1])]
        if len(labels) > 1 and all(g and g[0] == 200 for g in growth):
            (_, early, *_), (_, late, *_, evidence) = growth
            if late > 2 * early and late - early > 10:
                slow.append(
                    f"grows: {key[0]} {key[1]}: {early:.0f} → {late:.0f} ms\n      {evidence}"
                )
    return slow


def remeasure(app, say: Recorder, args, years: int) -> None:
    """--reuse: the history in the database as it stands (after an upgrade: the statistics
    aggregates rebuilt, fresh planner statistics), measured once."""
    db = app.extensions["shuangsuiji.db"]
    started = time.perf_counter()
    with db.transaction() as session:
        months = tallies.rebuild(session)
    say(f"statistics rebuilt: {months} department-months in {time.perf_counter() - started:.1f} s")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("ANALYZE"))
    world = history.world_of(db)
    label = f"{years} y (reused)"
    runs = {label: measure_pages(app, world, sample_ids(db.engine, world), args.requests)}
    last_year = dt.datetime.now(dt.UTC).year - 1
    p50, worst = measure_statistics(app, world, last_year, args.requests)
    say()
    say(f"load {load_average()} (other processes on the machine skew every figure)")
    slow = table(say, runs)
    say()
    say(
        f"{label}: yearly statistics {last_year}, all departments: "
        f"median {p50:.0f} ms, max {worst:.0f} ms"
    )
    for flag in ("", "--full"):
        elapsed, line = verify(app, *([flag] if flag else []))
        say(f"{label}: audit verify {flag}: {elapsed:.1f} s — {line}")
    say(f"database size: {database_size(db.engine) / 2**20:,.0f} MB")
    finish(say, slow, args.out)


def finish(say: Recorder, slow: list[str], out_path: str) -> None:
    if slow:
        say()
        say(f"over the targets (p50 {P50_MS} ms, p95 {P95_MS} ms, {SIZE // 1024} KB) or growing:")
        for line in slow:
            say(f"  {line}")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(say.lines) + "\n", encoding="utf-8")
    print(f"written to {out}", file=sys.stderr)


def main() -> None:  # noqa: C901 (the bench's steps in order, printed as they go)
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=int, default=None, help="years of history (10)")
    parser.add_argument("--cities", type=int, default=1, help="11: a province's year")
    parser.add_argument("--database", default="bench_history")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--small", action="store_true", help="a tiny city, to try the bench")
    parser.add_argument("--entities", type=int, default=None, help="entities per city")
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "history.txt"))
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the history already in --database (upgraded to this code's schema)",
    )
    args = parser.parse_args()
    years = args.years or (1 if args.cities > 1 else 10)
    scale = history.SMALL if args.small else history.Scale()
    if args.entities:
        scale = history.Scale(**(vars(scale) | {"entities": args.entities}))
    say = Recorder()
    base_url = (
        os.environ.get("BENCH_DATABASE_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    url = make_url(base_url).set(database=args.database).render_as_string(hide_password=False)
    if not args.reuse:
        admin = create_engine(
            make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{args.database}"'))
        admin.dispose()

    from alembic import command

    from shuangsuiji.app import create_app
    from shuangsuiji.cli.db import alembic_config

    command.upgrade(alembic_config(url), "head")
    app = create_app(
        {
            "DATABASE_URL": url,
            "LOGIN_RATE_LIMIT": "1000000 per minute",
            "LOGIN_USER_RATE_LIMIT": "1000000 per minute",
            "PUBLIC_SEARCH_RATE_LIMIT": "1000000 per minute",
        }
    )
    db = app.extensions["shuangsuiji.db"]
    today = dt.datetime.now(dt.UTC).date()
    first = dt.date(today.year - years, 1, 1)
    months = years * 12
    say(
        f"bench_history: {years} year(s) from {first:%Y-%m}, {args.cities} city(ies), "
        f"load {load_average()} on {os.cpu_count()} CPUs"
    )
    started = time.perf_counter()
    if args.reuse:
        remeasure(app, say, args, years)
        return
    builder = Builder(db, scale, first, months, say)
    world = builder.start(args.cities)
    builder.copy_cities(args.cities)
    runs: dict[str, dict] = {}
    extras: dict[str, dict] = {}
    checkpoints = sorted({min(12, months - 1), months - 1} - {0}) if months > 1 else []
    for stop in checkpoints:
        builder.copy_until(stop, args.cities)
        label = f"{stop // 12 or 1} y" if stop != months - 1 else f"{years} y"
        if stop == months - 1:
            builder.settle(today)
            extras[label] = {"full": verify(app, "--full")}
            builder.unsettle()
            builder.copy_until(months, args.cities)
            builder.settle(today)
            extras[label]["since"] = verify(app)
        else:
            builder.settle(today)
        say(f"built to month {builder.done} in {time.perf_counter() - started:.0f} s")
        sample = sample_ids(db.engine, world)
        runs[label] = measure_pages(app, world, sample, args.requests)
        extras.setdefault(label, {})["statistics"] = measure_statistics(
            app, world, first.year + builder.done // 12 - 1, args.requests
        )
        if stop != months - 1:
            builder.unsettle()
    if not checkpoints:  # one month only
        builder.settle(today)
        runs["1 m"] = measure_pages(app, world, sample_ids(db.engine, world), args.requests)
    if not builder.sizes or builder.sizes[-1][0] != f"{years} y":
        builder.sizes.append((f"{builder.done} m", database_size(db.engine)))

    say()
    say(f"load {load_average()} (other processes on the machine skew every figure)")
    slow = table(say, runs)
    say()
    for label, figures in extras.items():
        if "statistics" in figures:
            p50, worst = figures["statistics"]
            say(
                f"{label}: yearly statistics, all departments: median {p50:.0f} ms, "
                f"max {worst:.0f} ms"
            )
        for kind in ("full", "since"):
            if kind in figures:
                elapsed, line = figures[kind]
                name = "audit verify --full" if kind == "full" else "audit verify"
                say(f"{label}: {name}: {elapsed:.1f} s — {line}")
    say("database size: " + ", ".join(f"{k}: {v / 2**20:,.0f} MB" for k, v in builder.sizes))
    say(f"total {time.perf_counter() - started:.0f} s")
    finish(say, slow, args.out)


if __name__ == "__main__":
    main()
