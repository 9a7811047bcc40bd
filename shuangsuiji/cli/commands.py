"""The `shuangsuiji` command group: Flask's CLI group with the project's commands."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from . import (
    accounts,
    audit,
    db,
    demo,
    draws,
    outbox,
    registry,
    reminders,
    scheduler,
    statistics,
    worker,
)


def _create_app():
    from ..app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main():
    """双随机、一公开监管平台 (shuangsuiji) management commands."""


for module in (db, accounts, audit, demo, reminders, worker, outbox, scheduler, statistics):
    main.add_command(module.group)
main.add_command(registry.import_command)
main.add_command(registry.export_command)
main.add_command(draws.plan_group)
main.add_command(draws.draw_group)
