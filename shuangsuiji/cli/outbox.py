"""`shuangsuiji outbox run`: the outbox dispatcher (webhooks, e-mail)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..worker.outbox import Dispatcher


@click.group("outbox")
def group():
    """发件箱：发送 Webhook 与电子邮件。"""


@group.command("run")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@with_appcontext
def run(once):
    """Send due messages until SIGTERM/SIGINT, retrying failures with backoff."""
    try:
        dispatcher = Dispatcher(current_app.extensions["shuangsuiji.db"], current_app.config)
    except ValueError as exc:
        raise click.ClickException(f"configuration refused: {exc}") from None
    dispatcher.install_signal_handlers()
    dispatcher.run(once=once)
