"""`shuangsuiji demo load`: demo data for a first look (scripts/serve runs it)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..services import demo


@click.group("demo")
def group():
    """演示数据。"""


@group.command("load")
@with_appcontext
def load():
    """Load the demo set-up if the database has no users yet; print the admin password."""
    with current_app.extensions["shuangsuiji.db"].transaction() as session:
        if not demo.is_empty(session):
            click.echo(
                "数据库已有数据，未加载演示数据。管理员密码遗失时可用："
                "shuangsuiji users reset-password admin"
            )
            return
        password = demo.load(session)
    click.echo("已加载演示数据（廊坊市场监管局、两个县局、税务局、生态环境局）。")
    click.echo(f"管理员账号 admin，一次性密码：{password}（首次登录须修改）")
    click.echo(f"其他演示账号（如 lf_admin、xh_admin、auditor）的密码：{demo.DEMO_STAFF_PASSWORD}")
