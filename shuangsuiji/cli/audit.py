"""`shuangsuiji audit …`: verify the chain, make checkpoints."""

from __future__ import annotations

import datetime as dt
import sys
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
    "--checkpoint",
    "external",
    multiple=True,
    metavar="COUNT:HASH",
    help="A checkpoint saved from the public site; may be repeated.",
)
@with_appcontext
def verify(external):
    """Re-compute the hash chain; name the first edited, deleted, inserted or reordered entry."""
    checkpoints = []
    for item in external:
        count, _, head = item.partition(":")
        if not count.isdigit() or len(head) != 64:
            raise click.BadParameter(f"{item!r}: expected COUNT:HASH", param_hint="--checkpoint")
        checkpoints.append((int(count), head))
    with current_app.extensions["shuangsuiji.db"].transaction(write=False) as session:
        report = audit.verify(session, external_checkpoints=checkpoints)
    if report.ok:
        click.echo(
            f"OK: {report.checked} entries, {report.checkpoints_checked} checkpoints, "
            f"head {report.head_hash}"
        )
        return
    problem = report.problem
    click.echo(f"BROKEN ({problem.kind}) at entry {problem.seq}: {problem.message}", err=True)
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
