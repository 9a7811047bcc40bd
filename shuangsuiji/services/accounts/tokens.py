"""API tokens (API 令牌): random, shown once, stored hashed, scoped, expiring, revocable."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db import ApiToken, User, utcnow
from ...db.states import TokenScope
from ...errors import Invalid, NotFound
from ..pages import Keyset, Order, keyset
from ..platform import audit

PREFIX = "ssj_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


NEWEST_TOKENS: Order = ((ApiToken.id, True),)


def page_own(
    session: Session, actor: User, *, cursor: str | None = None, limit: int = 50
) -> Keyset:
    """One page of the actor's own tokens (revoked and expired ones too), newest first."""
    query = select(ApiToken).where(ApiToken.user_id == actor.id)
    return keyset(session, query, NEWEST_TOKENS, cursor=cursor, limit=limit)


def issue(
    session: Session, *, actor: User, name: str, scope: str, days: int, max_days: int
) -> tuple[ApiToken, str]:
    """Issue a token for the actor; returns the row and the token text (shown only now)."""
    errors = {}
    if not name.strip() or len(name) > 64:
        errors["name"] = ["名称须为 1–64 个字符"]
    if scope not in set(TokenScope):
        errors["scope"] = ["权限须为 read 或 write"]
    if not 1 <= days <= max_days:
        errors["days"] = [f"有效期须为 1–{max_days} 天"]
    if errors:
        raise Invalid("令牌信息有误", errors=errors)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=actor.id,
        name=name.strip(),
        prefix=secret[:10],
        token_hash=_hash(secret),
        scope=scope,
        expires_at=utcnow() + dt.timedelta(days=days),
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.issue",
        object_type="api_token",
        object_id=token.id,
        after={"name": token.name, "scope": scope, "expires_at": token.expires_at.isoformat()},
        department_id=actor.department_id,
    )
    return token, secret


def revoke(session: Session, *, actor: User, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.id:
        raise NotFound("令牌不存在")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="token.revoke",
            object_type="api_token",
            object_id=token.id,
            department_id=actor.department_id,
        )
    return token


def resolve(session: Session, secret: str) -> tuple[User, ApiToken] | None:
    """The user a bearer token acts for, or None if unknown, revoked, expired or user off."""
    if not secret.startswith(PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(secret)))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    if not token.user.active:
        return None
    return token.user, token
