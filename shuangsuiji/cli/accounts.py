"""`shuangsuiji users …`: account recovery from the server's shell."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import User
from ..services.accounts import users


@click.group("users")
def group():
    """用户管理。"""


@group.command("reset-password")
@click.argument("username")
@with_appcontext
def reset_password(username):
    """Give USERNAME a new one-time password (printed once)."""
    with current_app.extensions["shuangsuiji.db"].transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"用户 {username} 不存在")
        password = users.reset_password(session, actor=None, user_id=user.id)
    click.echo(f"新的一次性密码（首次登录须修改）：{password}")
