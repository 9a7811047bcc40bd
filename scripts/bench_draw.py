#!/usr/bin/env python
"""Bench the SRDP-1 draw (issue 4's figures).

  .venv/bin/python scripts/bench_draw.py [--entities 1000000] [--no-sampler] [--no-e2e]
  .venv/bin/python scripts/bench_draw.py --entities 10000000 --no-sampler --no-e2e

The input is the issue's: entities in classes A/B/C/D (65/25/8/2%) drawn at 3/5/10/30%
(about 50,000 of 1,000,000), 1,200 inspectors in 10 regions (cap 100, the 异地 rule), two slots,
1% of entities with a CONFLICT and 30% with two PREVIOUS exclusions (so the same shares of
the drawn ones). Printed beside the engine, on the same input in the same run:
consistent_sampler 1.0.10 producing the same sample, and the floor (one loop that only
SHA-256-hashes the ids). `shuangsuiji draw verify` runs on the bundle written to a zip.

End to end (PostgreSQL; BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local server):
a registry of the same size is loaded into its own database `shuangsuiji_drawbench`, with a
closed earlier plan whose draw makes the PREVIOUS pairs, then `plans.commit` + `draws.execute`
+ the transaction's commit are timed. Figures go to bench-results/draw.txt (draw-10m.txt for
more than 5,000,000 entities).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import benchenv  # scripts/benchenv.py: sys.path, and a clear line when a module is missing

ROOT = benchenv.ROOT

with benchenv.requirements():
    from shuangsuiji.domain import srdp
    from shuangsuiji.domain.bundle import (
        Exclusion,
        Inspector,
        Plan,
        RandomnessSource,
        StratumRule,
        exclusions_tsv,
        inspectors_tsv,
        parse_bundle,
        plan_json,
        sha256sums,
        snapshot,
    )

CLASSES = [("A", 0.65, "0.03"), ("B", 0.25, "0.05"), ("C", 0.08, "0.1"), ("D", 0.02, "0.3")]
REGIONS = [f"1310{n:02d}" for n in range(10)]
N_INSPECTORS = 1200
CAP = 100  # at 1M: 120,000 slots for about 92,000 to fill


def cap_for(n: int) -> int:
    """Caps grow with the registry so the pool can staff the draw (else commit refuses it)."""
    return max(CAP, n // 10_000)


DICE = "31415926535897932384"


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, not ru_maxrss: ru_maxrss survives
    exec, so the engine's child process reported the parent's peak (the 10M synthetic input,
    4.5 GB) as its own."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def registry(n: int, seed: int = 20260101):
    """(uscc-like id, class, region) per entity, sorted by id; inspectors; exclusions."""
    rng = random.Random(seed)
    bounds, total = [], 0.0
    for code, share, _ in CLASSES:
        total += share
        bounds.append((total, code))
    rows = []
    for k in range(n):
        x = rng.random()
        stratum = next((code for bound, code in bounds if x < bound), "D")
        rows.append((f"91131{k:013d}", stratum, REGIONS[rng.randrange(len(REGIONS))]))
    inspectors = [
        Inspector(f"I{k + 1:09d}", "SAMR", REGIONS[k % len(REGIONS)], cap_for(n))
        for k in range(N_INSPECTORS)
    ]
    exclusions = {}
    for entity_id, _, _ in rows:
        x = rng.random()
        if x < 0.01:
            exclusions[(entity_id, inspectors[rng.randrange(N_INSPECTORS)].inspector_id)] = (
                "CONFLICT"
            )
        elif x < 0.31:
            for inspector in rng.sample(inspectors, 2):
                exclusions.setdefault((entity_id, inspector.inspector_id), "PREVIOUS")
    return rows, inspectors, [Exclusion(e, i, r) for (e, i), r in exclusions.items()]


def plan(plan_id: str = "BENCH-001") -> Plan:
    return Plan(
        plan_id=plan_id,
        strata=tuple(StratumRule(code, ratio=ratio) for code, _, ratio in CLASSES),
        rounding="ceil",
        slots=("SAMR", "SAMR"),
        region_rule="different",
        selection="uniform",
        randomness=(RandomnessSource("dice", "digits", min_len=20),),
    )


class Figures:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def time(self, label: str, fn, *args, **kwargs):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        self.add(label, time.perf_counter() - start)
        return result

    def add(self, label: str, seconds: float, note: str = "") -> float:
        line = f"{label:<48}{seconds:8.2f} s{('  ' + note) if note else ''}"
        print(line, flush=True)
        self.lines.append(line)
        return seconds

    def text(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)


def write_files(folder: Path, rows, inspectors, exclusions) -> None:
    files = {
        "entities.tsv": "".join(f"{e}\t{c}\t{r}\n" for e, c, r in rows).encode("ascii"),
        "inspectors.tsv": inspectors_tsv(inspectors),
        "exclusions.tsv": exclusions_tsv(exclusions),
        "plan.json": plan_json(plan()),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)


def engine_child(folder: Path, sampler: bool) -> None:
    """The engine in a process of its own, so that its peak memory is the engine's."""
    fig = Figures()
    files = {
        name: (folder / name).read_bytes()
        for name in ("entities.tsv", "inspectors.tsv", "exclusions.tsv", "plan.json")
    }
    args = argparse.Namespace(sampler=sampler)
    files, manifest = engine_figures(fig, args, files)
    fig.text(f"peak RSS of the engine process, manifest and zip included {peak_rss_mb():,.0f} MB")
    with zipfile.ZipFile(folder / "bundle.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("SHA256SUMS", sha256sums(files))
        zf.writestr("manifest.json", json.dumps(manifest))


def engine_figures(fig: Figures, args, files: dict) -> tuple[dict, dict]:
    bundle = fig.time("parse bundle (4 files)", parse_bundle, files)
    sums = sha256sums(files)
    values = srdp.canonical_randomness(bundle.plan, [srdp.RandomnessValue("dice", DICE)])
    seed_text = srdp.seed_text(bundle.plan.plan_id, snapshot(sums), values)
    seed = srdp.seed_of(seed_text)
    quotas = srdp.quotas(bundle.plan, bundle.entities)
    start = time.perf_counter()
    sample = srdp.sample(bundle.entities, quotas, seed)
    t_sample = fig.add("engine: sample", time.perf_counter() - start)
    start = time.perf_counter()
    assignment = srdp.assign(bundle, sample, seed)
    t_assign = fig.add("engine: assignment (phases 1 and 2)", time.perf_counter() - start)
    fig.add(
        "ENGINE sample + assignment",
        t_sample + t_assign,
        "(target: 1M ≤ 1.5 s, aim 1.0; 10M < 15 s)",
    )
    fig.text(f"  peak RSS after parse, sample and assignment {peak_rss_mb():,.0f} MB")

    ids = bundle.entities.ids
    start = time.perf_counter()
    for entity_id in ids:
        hashlib.sha256(entity_id.encode("ascii")).digest()
    t_floor = fig.add("floor: SHA-256 of every id, one loop", time.perf_counter() - start)
    fig.text(f"  sample / floor = {t_sample / t_floor:.2f}")

    if args.sampler:
        import consistent_sampler

        by_stratum: dict[str, list[str]] = {}
        for entity_id, stratum in zip(ids, bundle.entities.strata, strict=True):
            by_stratum.setdefault(stratum, []).append(entity_id)
        start = time.perf_counter()
        same = True
        for q, s in zip(quotas, sample.strata, strict=True):
            theirs = list(
                consistent_sampler.sampler(
                    by_stratum.get(q.code, []), seed=seed, take=q.k, output="tuple", digits=18
                )
            )
            ours = [(d.ticket, d.entity_id, 1) for d in sample.drawn if d.stratum == s.code]
            same &= theirs == ours
        t_cs = fig.add("consistent_sampler 1.0.10, same sample", time.perf_counter() - start)
        fig.text(
            f"  identical: {'yes' if same else 'NO'}; engine sample is {t_cs / t_sample:.1f}x "
            f"faster (target ≥ 6x)"
        )

    result = srdp.Draw(
        bundle, sums, snapshot(sums), values, seed_text, seed, quotas, sample, assignment
    )
    phase2 = sum(r.phase == 2 for r in assignment.rows)
    fig.text(
        f"  drawn {len(sample.drawn):,}, staffed slots {len(assignment.rows):,}, phase 2 "
        f"{phase2:,}, unstaffed {len(assignment.unstaffed):,}, excl. {len(bundle.exclusions):,}"
    )
    return files, srdp.manifest(
        result,
        committed_at=datetime(2026, 1, 1, tzinfo=UTC),
        software={"name": "shuangsuiji", "version": "bench"},
    )


def verify_figure(fig: Figures, path: Path) -> None:
    start = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our own command on our own file)
        [str(Path(sys.executable).parent / "shuangsuiji"), "draw", "verify", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    seconds = time.perf_counter() - start
    ok = "OK" if done.returncode == 0 else f"FAILED: {done.stdout[-300:]}{done.stderr[-300:]}"
    fig.add("`shuangsuiji draw verify BUNDLE.zip`", seconds, f"(target < 5 s) {ok}")


def e2e_figure(fig: Figures, rows, inspectors, *, keep: bool = False) -> None:
    from alembic import command
    from sqlalchemy import create_engine, make_url, text

    from shuangsuiji.cli.db import alembic_config
    from shuangsuiji.db import Database, User, make_engine
    from shuangsuiji.services.plans import draws, plans

    base = (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    url = make_url(base).set(database="shuangsuiji_drawbench")
    admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text('DROP DATABASE IF EXISTS "shuangsuiji_drawbench" WITH (FORCE)'))
        c.execute(text('CREATE DATABASE "shuangsuiji_drawbench"'))
    url_text = url.render_as_string(hide_password=False)
    command.upgrade(alembic_config(url_text), "head")
    engine = make_engine(url_text)
    try:
        start = time.perf_counter()
        _load(engine, rows, inspectors)
        fig.add("e2e: load the registry (setup, not timed below)", time.perf_counter() - start)
        db = Database(engine)
        with db.transaction() as session:
            actor = session.get(User, 1)
            p = plans.create(
                session,
                actor=actor,
                department_id=1,
                raw={
                    "code": "BENCH-E2E",
                    "title": "基准测试",
                    "strata": {c: {"ratio": r} for c, _, r in CLASSES} | {"X": {"ratio": "0.05"}},
                    "slots": ["SAMR", "SAMR"],
                    "region_rule": "different",
                    "workload_cap": CAP,
                    "cooldown_months": 12,
                },
            )
            plan_id = p.id
        start = time.perf_counter()
        with db.transaction() as session:
            actor = session.get(User, 1)
            commitment = plans.commit(
                session, actor=actor, plan_id=plan_id, today=datetime.now(UTC).date()
            )
            commitment_id = commitment.id
            summary = json.loads(commitment.summary)
        t_commit = fig.add(
            "e2e: commit (build, check, store the files)", time.perf_counter() - start
        )
        start = time.perf_counter()
        with db.transaction() as session:
            draw = draws.execute(
                session,
                actor=session.get(User, 1),
                commitment_id=commitment_id,
                randomness=[{"label": "dice", "value": DICE, "witnesses": ["甲", "乙"]}],
            )
            drawn = json.loads(draw.summary)["drawn"]
        t_draw = fig.add("e2e: draw + store rows and manifest", time.perf_counter() - start)
        fig.add("E2E commit + draw + store (PostgreSQL)", t_commit + t_draw, "(target < 10 s)")
        fig.text(
            f"  eligible {summary['eligible']:,}, exclusions {summary['exclusions']}, "
            f"drawn {drawn:,}"
        )
    finally:
        engine.dispose()
        if not keep:
            with admin.connect() as c:
                c.execute(text('DROP DATABASE IF EXISTS "shuangsuiji_drawbench" WITH (FORCE)'))
        admin.dispose()


def _load(engine, rows, inspectors) -> None:
    """The registry by COPY: a department, its admin, entities, inspectors, one conflict per
    100 entities, and a closed earlier plan whose draw gave 30% of entities two inspectors."""
    from shuangsuiji.services.accounts.passwords import hash_password

    rng = random.Random(7)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        now = datetime.now(UTC)
        cur.execute(
            "INSERT INTO departments (id, code, name, short_name, kind, level, region_code, "
            "active, created_at) VALUES (1, 'SAMR', '廊坊市市场监督管理局', '', '市场监管', "
            "'city', '131000', true, %s)",
            (now,),
        )
        cur.execute(
            "INSERT INTO users (id, username, display_name, role, department_id, password_hash, "
            "must_change_password, active, created_at, password_changed_at) VALUES (1, 'bench',"
            " '基准', 'dept_admin', 1, %s, false, true, %s, %s)",
            (hash_password("bench-Passw0rd!"), now, now),
        )
        with cur.copy(
            "COPY entities (id, department_id, uscc, name, region_code, status, risk_class, "
            "abnormal_listed, check_count, created_at, updated_at) FROM STDIN"
        ) as copy:
            for k, (uscc, stratum, region) in enumerate(rows, 1):
                copy.write_row(
                    (k, 1, uscc, f"企业{k}", region, "存续", stratum, False, 0, now, now)
                )
        with cur.copy(
            "COPY inspectors (id, department_id, name, cert_no, region_code, status, is_expert, "
            "created_at, updated_at) FROM STDIN"
        ) as copy:
            for k, inspector in enumerate(inspectors, 1):
                copy.write_row(
                    (k, 1, f"检查员{k}", f"ZF{k:06d}", inspector.region, "active", False, now, now)
                )
        with cur.copy(
            "COPY conflicts (department_id, inspector_id, entity_id, reason, declared_on, "
            "created_at, updated_at) FROM STDIN"
        ) as copy:
            for k in range(1, len(rows) + 1, 100):
                copy.write_row(
                    (1, rng.randrange(1, len(inspectors) + 1), k, "亲属", now.date(), now, now)
                )
        cur.execute(
            "INSERT INTO plans (id, department_id, code, title, status, scope, strata, rounding,"
            " slots, region_rule, selection, workload_cap, cooldown_months, exclude_open, "
            "randomness, publish_mode, created_at, updated_at) VALUES (1, 1, 'EARLIER', '上一批',"
            " 'closed', '{}', '{}', 'ceil', '[]', 'none', 'uniform', 100, 0, true, '[]', "
            "'after_fieldwork', %s, %s)",
            (now, now),
        )
        cur.execute(
            "INSERT INTO plan_commitments (id, plan_id, seq, srdp_id, plan_json, entities_tsv, "
            "inspectors_tsv, exclusions_tsv, sha256sums, snapshot, summary, committed_at) VALUES"
            " (1, 1, 1, 'EARLIER', '', '', '', '', '', '', '{}', %s)",
            (now,),
        )
        cur.execute(
            "INSERT INTO draws (id, plan_id, commitment_id, randomness, seed, sample_sha256, "
            "assignment_sha256, summary, manifest, created_at) VALUES (1, 1, 1, '[]', '', '', '',"
            " '{}', '{}', %s)",
            (now,),
        )
        earlier = [k for k in range(1, len(rows) + 1) if rng.random() < 0.3]
        with cur.copy(
            "COPY draw_entities (draw_id, entity_id, uscc, stratum, rank, ticket, position) "
            "FROM STDIN"
        ) as copy:
            for position, k in enumerate(earlier):
                copy.write_row((1, k, rows[k - 1][0], rows[k - 1][1], position + 1, "0", position))
        with cur.copy(
            "COPY draw_assignments (draw_id, position, slot, inspector_id) FROM STDIN"
        ) as copy:
            for position in range(len(earlier)):
                for slot, inspector in enumerate(rng.sample(range(1, len(inspectors) + 1), 2)):
                    copy.write_row((1, position, slot, inspector))
        for table in ("departments", "users", "entities", "inspectors", "plans", "draws"):
            cur.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")  # noqa: S608
        cur.execute("SELECT setval('plan_commitments_id_seq', 1)")
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--no-sampler", dest="sampler", action="store_false")
    parser.add_argument("--no-e2e", dest="e2e", action="store_false")
    parser.add_argument("--no-verify", dest="verify", action="store_false")
    parser.add_argument("--keep-db", action="store_true", help="keep shuangsuiji_drawbench")
    parser.add_argument("--engine-in", help=argparse.SUPPRESS)  # the engine's own process
    args = parser.parse_args()
    benchenv.require(*(["consistent_sampler"] if args.sampler else []))
    if args.engine_in:
        engine_child(Path(args.engine_in), args.sampler)
        return
    benchenv.require(*(["alembic", "sqlalchemy", "flask", "psycopg"] if args.e2e else []))

    fig = Figures()
    fig.text(
        f"SRDP-1 draw bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs; {args.entities:,} entities, "
        f"{N_INSPECTORS} inspectors (cap {cap_for(args.entities)}), 2 slots, 异地 rule"
    )
    rows, inspectors, exclusions = fig.time("synthetic input (setup)", registry, args.entities)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_files(folder, rows, inspectors, exclusions)
        del exclusions
        child = subprocess.run(  # noqa: S603 (this script, on its own files)
            [sys.executable, __file__, "--engine-in", tmp]
            + ([] if args.sampler else ["--no-sampler"]),
            capture_output=True,
            text=True,
            check=True,
        )
        for line in child.stdout.splitlines():
            fig.text(line)
        if args.verify:
            verify_figure(fig, folder / "bundle.zip")
    if args.e2e:
        e2e_figure(fig, rows, inspectors, keep=args.keep_db)
    fig.text(f"peak RSS of the bench process {peak_rss_mb():,.0f} MB")
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    name = "draw-10m.txt" if args.entities > 5_000_000 else "draw.txt"
    (out / name).write_text("\n".join(fig.lines) + "\n")


if __name__ == "__main__":
    main()
