#!/usr/bin/env python
"""Bench the public result look-up by USCC (issue 6's figures).

  .venv/bin/python scripts/bench_public.py [--entities 1000000] [--results 100000]
                [--duration 10] [--connections 16] [--rounds 3] [--keep] [--reuse]

Builds a scratch PostgreSQL database `bench_public` (on the server of BENCH_DATABASE_URL, else
the local one at 127.0.0.1:5432; dropped and created again): the demo departments and users,
`--entities` synthetic entities (cli/synthetic.py, written with the COPY helper of
db/bulk.py), one plan, commitment and draw row standing for the draws that produced the visits
(the draw engine is bench_draw.py's subject, not this one's), and `--results` published
inspection records with two matter results each. Then it serves the app with gunicorn and
config/gunicorn.conf.py and drives load from `wrk` (Debian: `apt-get install -y wrk`); without
wrk it falls back to a Python keep-alive client, which is much slower than wrk and shares the
CPU with the server, so its figures are a floor. It prints requests/s and p50/p99 latency for

- /livez, a trivial endpoint served the same way,
- /api/v1/public/firms/<uscc>, the public look-up (JSON), random published USCCs,
- /public/firms/<uscc>, the same as an HTML page,

each as the median of interleaved rounds (the machine may be busy with other work), and writes
them to bench-results/public.txt. A firm's record by exact USCC is not rate limited (searches
are); the limiter's storage is still Redis at 127.0.0.1:6379 when reachable, as in production.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import benchenv  # scripts/benchenv.py: sys.path, and a clear line when a module is missing

ROOT = benchenv.ROOT

with benchenv.requirements("alembic", "flask", "psycopg"):
    from sqlalchemy import create_engine, make_url, select, text

    from shuangsuiji.cli import synthetic

DATABASE = "bench_public"
CHUNK = 100_000


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def load_average() -> str:
    """The machine's load: other work on its CPUs skews every figure."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build(url: str, n_entities: int, n_results: int, report) -> list[str]:
    """Fill the scratch database; returns the USCCs that have published results."""
    from alembic import command

    from shuangsuiji.app import create_app
    from shuangsuiji.cli import demo_data as demo
    from shuangsuiji.cli.db import alembic_config
    from shuangsuiji.db import (
        Commitment,
        Department,
        Draw,
        Entity,
        InspectionRecord,
        InspectionResult,
        Matter,
        Plan,
        bulk,
        utcnow,
    )

    command.upgrade(alembic_config(url), "head")
    app = create_app({"DATABASE_URL": url})
    db = app.extensions["shuangsuiji.db"]
    with db.transaction() as session:
        demo.load(session)
        department = session.scalar(select(Department).where(Department.code == "LF-SAMR"))
        department_id = department.id
    now = utcnow().isoformat()

    started = time.perf_counter()
    rng = random.Random(6)
    rows = synthetic.entities(rng, n_entities)
    with db.engine.begin() as connection:
        batch = []
        for i, row in enumerate(rows, 1):
            batch.append(
                {
                    "department_id": department_id,
                    "uscc": row["uscc"],
                    "name": row["name"],
                    "entity_type": row["entity_type"],
                    "industry_code": row["industry_code"],
                    "region_code": row["region_code"],
                    "registered_on": row["registered_on"],
                    "status": row["status"],
                    "address": row["address"],
                    "abnormal_listed": row["abnormal_listed"] == "是",
                    "risk_class": row["risk_class"],
                    "risk_class_month": row["risk_class_month"],
                    "check_count": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(batch) == CHUNK or i == n_entities:
                bulk.insert_rows(connection, Entity.__table__, batch)
                batch = []
    report(f"registry: {n_entities:,} entities in {time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    with db.transaction() as session:
        matters = [
            Matter(department_id=department_id, code=f"BENCH-{i}", name=name)
            for i, name in enumerate(("企业公示信息检查", "食品安全检查"), 1)
        ]
        plan = Plan(
            department_id=department_id,
            code="BENCH-2026",
            title="性能测试：2026 年度企业公示信息随机抽查",
            status="drawn",
            strata="{}",
            slots="[]",
            randomness="[]",
            matters=matters,
        )
        session.add(plan)
        session.flush()
        commitment = Commitment(
            plan_id=plan.id,
            seq=1,
            srdp_id="BENCH-2026-1",
            plan_json=b"{}",
            entities_tsv=b"",
            inspectors_tsv=b"",
            exclusions_tsv=b"",
            sha256sums="",
            snapshot="0" * 64,
            summary="{}",
        )
        session.add(commitment)
        session.flush()
        draw = Draw(
            plan_id=plan.id,
            commitment_id=commitment.id,
            randomness="[]",
            seed="0" * 64,
            sample_sha256="0" * 64,
            assignment_sha256="0" * 64,
            summary=json.dumps({"strata": [], "drawn": n_results}),
            manifest="{}",
        )
        session.add(draw)
        session.flush()
        ids = (plan.id, draw.id, [m.id for m in matters])
    plan_id, draw_id, matter_ids = ids
    with db.engine.begin() as connection:
        step = max(1, n_entities // n_results)
        chosen = connection.execute(
            text(
                "SELECT id, uscc FROM entities WHERE department_id = :d AND id % :s = 0 "
                "ORDER BY id LIMIT :n"
            ),
            {"d": department_id, "s": step, "n": n_results},
        ).all()
        day = dt.date(2026, 1, 5)
        records, usccs = [], []
        for position, (entity_id, uscc) in enumerate(chosen):
            checked = day + dt.timedelta(days=position % 300)
            records.append(
                {
                    "id": position + 1,
                    "draw_id": draw_id,
                    "position": position,
                    "plan_id": plan_id,
                    "department_id": department_id,
                    "entity_id": entity_id,
                    "uscc": uscc,
                    "status": "published",
                    "checked_on": checked.isoformat(),
                    "submitted_at": now,
                    "reviewed_at": now,
                    "published_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            usccs.append(uscc)
        bulk.insert_rows(connection, InspectionRecord.__table__, records)
        problems = (
            ("1", "field", "none"),
            ("A,2,6", "field", "feedback"),
            ("A,2,B", "online,document", "order"),
        )
        results = [
            {
                "record_id": r["id"],
                "matter_id": matter_id,
                "codes": problems[(r["id"] + k) % 7 % 3][0],
                "methods": problems[(r["id"] + k) % 7 % 3][1],
                "measures": problems[(r["id"] + k) % 7 % 3][2],
                "follow_up_closed": True,
            }
            for r in records
            for k, matter_id in enumerate(matter_ids)
        ]
        for i in range(0, len(results), CHUNK):
            bulk.insert_rows(connection, InspectionResult.__table__, results[i : i + CHUNK])
        connection.execute(
            text(
                "SELECT setval('inspection_records_id_seq', "
                "(SELECT max(id) FROM inspection_records))"
            )
        )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    report(
        f"results: {len(records):,} published records, {len(results):,} matter results "
        f"in {time.perf_counter() - started:.0f} s"
    )
    db.engine.dispose()
    return usccs


def serve(url: str, port: int, storage: str) -> tuple[subprocess.Popen, object]:
    env = os.environ | {
        "SHUANGSUIJI_ENV": "development",
        "SHUANGSUIJI_DATABASE_URL": url,
        "SHUANGSUIJI_RATELIMIT_STORAGE_URI": storage,
        "SHUANGSUIJI_PUBLIC_SEARCH_RATE_LIMIT": "1000000000 per minute",
        "PYTHONPATH": str(ROOT),
        "PORT": str(port),
    }
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by main once gunicorn stops)
    server = subprocess.Popen(  # noqa: S603 (our own gunicorn on our own config)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "config" / "gunicorn.conf.py"),
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise SystemExit(
                    "gunicorn did not start:\n" + log.read().decode()[-3000:]
                ) from None
            time.sleep(0.2)
    return server, log


def wrk(base: str, path_or_lua: str, duration: int, connections: int) -> dict:
    """Run wrk; returns req/s, p50 and p99 in ms, and the non-2xx count."""
    args = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--latency"]
    if path_or_lua.endswith(".lua"):
        args += ["-s", path_or_lua, base + "/"]
    else:
        args += [base + path_or_lua]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout  # noqa: S603

    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50"),
        "p99": ms("99"),
        "non2xx": int(errors.group(1)) if errors else 0,
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
    }


def python_client(base: str, paths: list[str], duration: int, connections: int) -> dict:
    """Keep-alive HTTP/1.1 clients in threads (the fallback when wrk is missing)."""
    host = urlsplit(base)
    stop = time.monotonic() + duration
    latencies: list[float] = []
    bad = [0]
    lock = threading.Lock()

    def run(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            conn.request("GET", rng.choice(paths))
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status >= 400:
                with lock:
                    bad[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "non2xx": bad[0],
        "requests": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint and round")
    parser.add_argument(
        "--connections", type=int, default=16, help="as many as the server's threads (4 × 4)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians")
    parser.add_argument("--keep", action="store_true", help="keep the bench_public database")
    parser.add_argument("--reuse", action="store_true", help="bench an existing bench_public")
    args = parser.parse_args()
    base_url = (
        os.environ.get("BENCH_DATABASE_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    url = make_url(base_url).set(database=DATABASE).render_as_string(hide_password=False)
    admin = create_engine(make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    lines: list[str] = []

    def report(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    if args.reuse:
        engine = create_engine(url)
        with engine.connect() as connection:
            usccs = list(
                connection.scalars(
                    text("SELECT uscc FROM inspection_records WHERE status = 'published'")
                )
            )
        engine.dispose()
    else:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
        usccs = build(url, args.entities, args.results, report)

    storage = os.environ.get("BENCH_LIMITER_STORAGE") or (
        "redis://127.0.0.1:6379/0" if redis_reachable() else "memory://"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server, log = serve(url, port, storage)
    loader = "wrk" if shutil.which("wrk") else "python"
    report(
        "server: gunicorn -c config/gunicorn.conf.py (WEB_CONCURRENCY="
        f"{os.environ.get('WEB_CONCURRENCY', 'unset')}, gthread), limiter storage {storage}; "
        f"load: {loader}, "
        f"{args.connections} connections, {args.duration} s per endpoint; {os.cpu_count()} CPUs "
        "shared with other work (figures are noisy)"
    )
    if loader == "python":
        report(
            "wrk not found (Debian: apt-get install -y wrk): the Python client's figures are a "
            "floor, not the server's capacity"
        )
    report(f"load average before (1, 5, 15 min): {load_average()}")
    sample = random.Random(7).sample(usccs, min(len(usccs), 20_000))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            endpoints = {
                "trivial /livez": ["/livez"],
                "look-up /api/v1/public/firms/<uscc>": [
                    f"/api/v1/public/firms/{u}" for u in sample
                ],
                "look-up page /public/firms/<uscc>": [f"/public/firms/{u}" for u in sample],
            }
            scripts = {}
            for i, (label, paths) in enumerate(endpoints.items()):
                python_client(base, paths, 2, 8)  # warm every worker and the database's cache
                scripts[label] = Path(tmp) / f"paths{i}.lua"
                scripts[label].write_text(
                    "local paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n"
                    "math.randomseed(6)\n"
                    "request = function()\n"
                    "  return wrk.format('GET', paths[math.random(#paths)])\n"
                    "end\n"
                )
            runs: dict[str, list[dict]] = {label: [] for label in endpoints}
            # Rounds interleave the endpoints, so a burst of other work on the machine hits
            # all of them; the medians are the figures.
            for round_no in range(1, args.rounds + 1):
                for label, paths in endpoints.items():
                    if loader == "wrk":
                        result = wrk(base, str(scripts[label]), args.duration, args.connections)
                    else:
                        result = python_client(base, paths, args.duration, args.connections)
                    runs[label].append(result)
                    report(
                        f"  round {round_no} {label}: {result['rps']:,.0f} req/s, "
                        f"p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms "
                        f"({result['requests']:,} requests, {result['non2xx']} errors)"
                    )
            report(f"load average at the end (1, 5, 15 min): {load_average()}")
            medians = {}
            for label, results in runs.items():
                medians[label] = {
                    key: statistics.median(r[key] for r in results) for key in ("rps", "p50", "p99")
                }
                m = medians[label]
                report(
                    f"{label}: median of {args.rounds}: {m['rps']:,.0f} req/s, "
                    f"p50 {m['p50']:.1f} ms, p99 {m['p99']:.1f} ms"
                )
            trivial = medians["trivial /livez"]["rps"]
            lookup = medians["look-up /api/v1/public/firms/<uscc>"]["rps"]
            report(f"look-up / trivial throughput (medians) = {lookup / trivial:.0%}")
    finally:
        server.terminate()
        server.wait(30)
        log.close()
        if not args.keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()
    out = ROOT / "bench-results" / "public.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        f"# scripts/bench_public.py --entities {args.entities} --results {args.results}  "
        f"({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)\n" + "\n".join(lines) + "\n"
    )
    print(f"written to {out}")


if __name__ == "__main__":
    main()
