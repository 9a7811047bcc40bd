"""Console sessions held server-side: the cookie carries only a random id whose hash is stored.

Ending a session (logout, password change, deactivation, timeouts) takes effect on the next
request, because every request looks the session up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ...db import User, UserSession, utcnow
from ...errors import Invalid
from ..platform import audit
from .passwords import verify_password

TOUCH_EVERY = dt.timedelta(seconds=60)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login(
    session: Session,
    *,
    username: str,
    password: str,
    remote_addr: str | None,
    user_agent: str | None,
) -> tuple[User, str]:
    """Check the credentials and open a session; returns the user and the session token."""
    user = session.scalar(select(User).where(User.username == username))
    if not verify_password(user.password_hash if user else None, password) or not user.active:
        raise Invalid("用户名或密码错误，或账号已停用")
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=token_hash(token),
            user_id=user.id,
            remote_addr=remote_addr,
            user_agent=(user_agent or "")[:255],
        )
    )
    user.last_login_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=user,
        action="user.login",
        object_type="user",
        object_id=user.id,
        after={"remote_addr": remote_addr},
        department_id=user.department_id,
    )
    return user, token


def resolve(
    session: Session,
    token: str,
    *,
    idle: dt.timedelta,
    absolute: dt.timedelta,
    now: dt.datetime | None = None,
) -> tuple[User, UserSession] | None:
    """The live session for a cookie token, or None when ended, timed out or the user is off."""
    now = now or utcnow()
    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        return None
    user = row.user
    if not user.active:
        return None
    return user, row


def needs_touch(row: UserSession, now: dt.datetime | None = None) -> bool:
    return (now or utcnow()) - row.last_seen_at > TOUCH_EVERY


def touch(session: Session, session_id: int) -> None:
    session.execute(
        update(UserSession).where(UserSession.id == session_id).values(last_seen_at=utcnow())
    )


def end(session: Session, *, token: str, reason: str, actor: User | None = None) -> None:
    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None or row.ended_at is not None:
        return
    row.ended_at = utcnow()
    row.end_reason = reason
    session.flush()
    if actor is not None:
        audit.record(
            session,
            actor=actor,
            action="user.logout",
            object_type="user",
            object_id=actor.id,
            department_id=actor.department_id,
        )


def end_all(session: Session, *, user_id: int, reason: str) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
