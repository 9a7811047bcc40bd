"""`shuangsuiji reminders sweep`: queue today's deadline reminders (the scheduler runs it daily)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..edge import today
from ..services.results import deadlines, reminders


@click.group("reminders")
def group():
    """期限提醒。"""


@group.command("sweep")
@with_appcontext
def sweep():
    """Queue a reminder for each deadline that became soon or overdue (once each)."""
    rules = deadlines.Rules.from_config(current_app.config)
    with current_app.extensions["shuangsuiji.db"].transaction() as session:
        queued = reminders.sweep(session, today=today(), rules=rules)
    click.echo(f"已加入发件箱的提醒：{queued} 条")
