"""`shuangsuiji statistics rebuild`: recompute the statistics aggregates from the records."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from ..services.plans import tallies


@click.group("statistics")
def group():
    """统计汇总。"""


@group.command("rebuild")
@with_appcontext
def rebuild():
    """Recompute every department-month of the statistics from the draws and the records, in
    one transaction (after upgrading to migration 0014, or as a repair; idempotent)."""
    started = time.monotonic()
    with current_app.extensions["shuangsuiji.db"].transaction() as session:
        months = tallies.rebuild(session)
    click.echo(f"已重算统计汇总：{months} 个部门月份，用时 {time.monotonic() - started:.1f} 秒")
