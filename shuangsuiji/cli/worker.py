"""`shuangsuiji worker run`: the background task worker."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..worker import Worker


@click.group("worker")
def group():
    """后台任务进程。"""


@group.command("run")
@click.option("--once", is_flag=True, help="Run queued tasks, then exit when the queue is empty.")
@with_appcontext
def run(once):
    """Claim and run queued tasks until SIGTERM/SIGINT."""
    worker = Worker(current_app.extensions["shuangsuiji.db"], current_app.config)
    worker.install_signal_handlers()
    worker.run(once=once)
