"""`shuangsuiji db …`: Alembic migrations of the configured database."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import current_app
from flask.cli import with_appcontext

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@click.group("db")
def group():
    """数据库迁移。"""


@group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def upgrade(revision):
    """Upgrade the database to REVISION (default: head)."""
    command.upgrade(alembic_config(_url()), revision)
    click.echo(f"database at {revision}")


@group.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade(revision):
    """Downgrade the database to REVISION."""
    command.downgrade(alembic_config(_url()), revision)


@group.command("current")
@with_appcontext
def current():
    """Show the database's revision."""
    command.current(alembic_config(_url()))


def _url() -> str:
    return current_app.extensions["shuangsuiji.db"].engine.url.render_as_string(hide_password=False)
