"""`shuangsuiji audit …`: verify the chain, make checkpoints."""

from __future__ import annotations

import datetime as dt
import sys
import time
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

from ..services.platform import audit


@click.group("audit")
def group():
    """审计日志。"""


@group.command("verify")
@click.option(
    "--full",
    is_flag=True,
    help="Re-compute the whole chain, not only the entries since the last verification.",
)
@click.option(
    "--checkpoint",
    "external",
    multiple=True,
    metavar="COUNT:HASH",
    help="A checkpoint saved from the public site; may be repeated.",
)
@with_appcontext
def verify(full, external):
    """Re-compute the hash chain since the last successful verification (all of it with
    --full); name every edited entry, or the first deleted, inserted or reordered one. A
    successful verification records its checkpoint (the last entry and its hash)."""
    checkpoints = []
    for item in external:
        count, _, head = item.partition(":")
        if not count.isdigit() or len(head) != 64:
            raise click.BadParameter(f"{item!r}: expected COUNT:HASH", param_hint="--checkpoint")
        checkpoints.append((int(count), head))
    db = current_app.extensions["shuangsuiji.db"]
    with db.transaction(write=False) as session:
        since = None if full else audit.last_verified(session)
        if since is not None:
            click.echo(
                f"since the checkpoint of {since.verified_at:%Y-%m-%d %H:%M:%S} UTC: "
                f"entry {since.seq}, {since.head_hash}"
            )
        started = time.perf_counter()
        report = audit.verify(session, since=since, external_checkpoints=checkpoints)
        elapsed = time.perf_counter() - started
    rate = f"{report.checked / elapsed:,.0f} entries/s" if elapsed > 0 else "-"
    timing = f"{report.checked} entries in {elapsed:.2f} s ({rate})"
    if report.ok:
        with db.transaction() as session:
            audit.record_verified(session, report)
        if report.full:
            scope = "whole chain"
        elif report.checked:
            scope = f"entries {report.from_seq + 1}–{report.head_seq}"
        else:
            scope = "no entries since the checkpoint"
        click.echo(
            f"OK ({scope}): {timing}, {report.checkpoints_checked} checkpoints, "
            f"head {report.head_seq} {report.head_hash}"
        )
        return
    for problem in report.problems:
        click.echo(f"BROKEN ({problem.kind}) at entry {problem.seq}: {problem.message}", err=True)
    click.echo(timing, err=True)
    sys.exit(1)


@group.command("checkpoint")
@with_appcontext
def checkpoint():
    """Create the checkpoints of finished days that have none (the worker does this daily)."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    with current_app.extensions["shuangsuiji.db"].transaction() as session:
        created = audit.ensure_checkpoints(session, today=dt.datetime.now(tz).date(), tz=tz)
        for c in created:
            click.echo(f"{c.day} {c.entry_count} {c.head_hash}")
