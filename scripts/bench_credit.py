#!/usr/bin/env python
"""Bench the credit record and the outbox (issue 6's figures).

  .venv/bin/python scripts/bench_credit.py [--database-url URL] [--results 2000] [--webhooks 500]

Into an empty database (the URL's, upgraded to head; default a temporary SQLite file):
`on_result_published` for RESULTS results (a mix of codes 1, 6, B and A/2/6 over 500
entities), each in its own transaction as a publish request would be; then the feed read page
by page (limit 1000) and serialised as JSON Lines; then WEBHOOKS signed webhooks sent by the
dispatcher to a local HTTP server. Figures go to bench-results/credit.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import benchenv  # scripts/benchenv.py: sys.path, and a clear line when a module is missing

ROOT = benchenv.ROOT

with benchenv.requirements():
    from alembic import command
    from sqlalchemy import func, select

    from shuangsuiji.cli.db import alembic_config
    from shuangsuiji.db import CreditEvent, Database, Department, Entity, make_engine
    from shuangsuiji.domain import uscc
    from shuangsuiji.services.platform import outbox
    from shuangsuiji.services.results import credit
    from shuangsuiji.worker.outbox import Dispatcher

CODES = (["1"], ["6"], ["B"], ["A", "2", "6"], ["1"], ["E"])


class _Reader:
    role = "auditor"
    department_id = None


def _receiver():
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--results", type=int, default=2000)
    parser.add_argument("--webhooks", type=int, default=500)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    command.upgrade(alembic_config(url), "head")
    db = Database(make_engine(url))
    lines = [f"database: {db.dialect}"]

    with db.transaction() as session:
        department = Department(
            code="BENCH", name="基准测试局", kind="市场监管", level="city", region_code="131000"
        )
        session.add(department)
        session.flush()
        entities = [
            Entity(department_id=department.id, uscc=uscc.make(f"91131024{n:09d}"), name=f"对象{n}")
            for n in range(500)
        ]
        session.add_all(entities)
        session.flush()
        ids = [e.id for e in entities]
        department_id = department.id

    started = time.perf_counter()
    for n in range(args.results):
        with db.transaction() as session:
            credit.on_result_published(
                session,
                actor=None,
                entity_id=ids[n % len(ids)],
                department_id=department_id,
                inspection_ref=f"inspection:{n}",
                codes=CODES[n % len(CODES)],
                checked_on=dt.date(2030, 3, 4),
                published_at=dt.datetime(2030, 3, 20, tzinfo=dt.UTC),
            )
    elapsed = time.perf_counter() - started
    with db.transaction(write=False) as session:
        events = session.scalar(select(func.count()).select_from(CreditEvent))
    lines.append(
        f"publish: {args.results} results → {events} events in {elapsed:.2f} s "
        f"({args.results / elapsed:.0f} results/s, {elapsed / args.results * 1000:.2f} ms each)"
    )

    started, after, read, size = time.perf_counter(), 0, 0, 0
    while True:
        with db.transaction(write=False) as session:
            page = credit.feed(session, _Reader(), after=after, limit=1000)
            body = "".join(json.dumps(credit.event_document(e)) + "\n" for e in page)
        if not page:
            break
        after, read, size = page[-1].id, read + len(page), size + len(body)
    elapsed = time.perf_counter() - started
    lines.append(
        f"feed: {read} events in pages of 1000 in {elapsed:.2f} s "
        f"({read / elapsed:.0f} events/s, {size / read:.0f} bytes per JSON line)"
    )

    server = _receiver()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    with db.transaction() as session:
        for n in range(args.webhooks):
            outbox.enqueue(session, channel="webhook", recipient=hook, body={"n": n})
    config = {
        "SMTP_HOST": "",
        "SMTP_FROM": "",
        "SMTP_SSL": False,
        "SMTP_STARTTLS": False,
        "WEBHOOK_SECRET": "bench-secret-0123456789",
        "OUTBOX_MAX_ATTEMPTS": 3,
        "OUTBOX_BACKOFF_SECONDS": 30.0,
        "OUTBOX_BACKOFF_MAX_SECONDS": 3600.0,
        "OUTBOX_BATCH": 20,
        "OUTBOX_LEASE_SECONDS": 300,
        "OUTBOX_HTTP_TIMEOUT_SECONDS": 10.0,
    }
    dispatcher = Dispatcher(db, config)
    started, sent = time.perf_counter(), 0
    while tried := dispatcher.run_once():
        sent += tried
    elapsed = time.perf_counter() - started
    server.shutdown()
    lines.append(
        f"dispatcher: {sent} signed webhooks to a local server in {elapsed:.2f} s "
        f"({sent / elapsed:.0f} messages/s, one dispatcher, batches of 20)"
    )
    db.engine.dispose()

    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "credit.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
