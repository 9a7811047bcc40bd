"""Users (用户) and their roles; department admins manage their own department's staff."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...db import ApiToken, Department, Role, User, utcnow
from ...db.states import CROSS_DEPARTMENT_ROLES
from ...errors import Conflict, Forbidden, Invalid, NotFound
from ..pages import Keyset, Order, keyset
from ..platform import audit
from ..scope import is_dept_admin, is_inspector, is_sysadmin, reads_all, require_admin_of
from . import sessions
from .passwords import check_policy, hash_password, verify_password

FIELDS = (
    "username",
    "display_name",
    "email",
    "role",
    "department_id",
    "active",
    "must_change_password",
)
# What a department admin may hand out; the rest only the system admin.
DEPT_ADMIN_GRANTS = {Role.DEPT_ADMIN.value, Role.INSPECTOR.value}


def snapshot(user: User) -> dict:
    return {name: getattr(user, name) for name in FIELDS}


BY_USERNAME: Order = ((User.username, False),)  # usernames are unique


def _visible(actor: User, department_id: int | None):
    query = select(User)
    if is_inspector(actor):
        query = query.where(User.id == actor.id)
    elif not reads_all(actor):
        query = query.where(User.department_id == actor.department_id)
    if department_id is not None:
        query = query.where(User.department_id == department_id)
    return query


def list_visible(session: Session, actor: User, *, department_id: int | None = None) -> list[User]:
    """Every user the actor may see (a department's own, for forms and counts); lists that
    grow page with page_visible."""
    query = _visible(actor, department_id).order_by(User.department_id, User.username)
    return list(session.scalars(query))


def count_visible(session: Session, actor: User) -> int:
    """How many users the actor may see (the 工作台's figure: one COUNT, no rows)."""
    query = _visible(actor, None).subquery()
    return session.scalar(select(func.count()).select_from(query)) or 0


def page_visible(
    session: Session,
    actor: User,
    *,
    department_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Keyset:
    """One page of the users the actor may see, by username, after `cursor`."""
    return keyset(session, _visible(actor, department_id), BY_USERNAME, cursor=cursor, limit=limit)


def get(session: Session, actor: User, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    if reads_all(actor) or user.id == actor.id:
        return user
    if is_dept_admin(actor) and user.department_id == actor.department_id:
        return user
    raise NotFound("用户不存在")


def _check(session: Session, actor: User, values: dict, current: User | None) -> None:
    errors: dict[str, list[str]] = {}
    username = values.get("username")
    if username is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{3,64}", username):
        errors["username"] = ["用户名须为 3–64 位字母、数字或 _ . -"]
    role = values.get("role", current.role if current else None)
    if role not in {r.value for r in Role}:
        errors["role"] = ["角色无效"]
    department_id = values.get("department_id", current.department_id if current else None)
    if department_id is not None and session.get(Department, department_id) is None:
        errors["department_id"] = ["部门不存在"]
    if role in (Role.DEPT_ADMIN, Role.INSPECTOR) and department_id is None:
        errors["department_id"] = ["部门管理员和执法检查人员须属于一个部门"]
    if errors:
        raise Invalid("用户信息有误", errors=errors)
    if not is_sysadmin(actor):
        require_admin_of(actor, department_id)
        if role not in DEPT_ADMIN_GRANTS:
            raise Forbidden("部门管理员只能设置部门管理员或执法检查人员角色")
    renamed = username and (current is None or username != current.username)
    if renamed and session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"用户名 {username} 已被使用", errors={"username": ["用户名已被使用"]})


def generate_password() -> str:
    """A one-time password that satisfies the policy (shown once, changed at first login)."""
    return secrets.token_urlsafe(12) + "-A1a"


def create(
    session: Session, *, actor: User, values: dict, password: str | None, min_length: int
) -> tuple[User, str]:
    """Create a user; returns the user and the password to hand over (generated if not given).

    A generated password must be changed at first login.
    """
    require_admin_of(actor, values.get("department_id"))
    _check(session, actor, values, None)
    generated = password is None
    if generated:
        password = generate_password()
    else:
        check_policy(password, min_length=min_length, username=values.get("username", ""))
    user = User(
        **{k: v for k, v in values.items() if k in FIELDS and k != "must_change_password"},
        password_hash=hash_password(password),
        must_change_password=generated or bool(values.get("must_change_password")),
    )
    if user.role in CROSS_DEPARTMENT_ROLES and "department_id" not in values:
        user.department_id = None
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        after=snapshot(user),
        department_id=user.department_id,
    )
    return user, password


def update(session: Session, *, actor: User, user_id: int, values: dict) -> User:
    user = get(session, actor, user_id)
    require_admin_of(actor, user.department_id)
    demoting = values.get("role", user.role) != user.role or values.get("active") is False
    if user.id == actor.id and demoting:
        raise Forbidden("不能停用自己或修改自己的角色")
    _check(session, actor, values, user)
    before, after = audit.update_recorded(
        session,
        actor=actor,
        obj=user,
        values={k: v for k, v in values.items() if k in FIELDS},
        snapshot=snapshot,
        action="user.update",
        object_type="user",
    )
    if before["active"] and not after["active"]:
        sessions.end_all(session, user_id=user.id, reason="deactivated")
        revoke_all_tokens(session, user_id=user.id)
    return user


def revoke_all_tokens(session: Session, *, user_id: int) -> None:
    now = utcnow()
    for token in session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = now
    session.flush()


def change_password(
    session: Session, *, actor: User, current_password: str, new_password: str, min_length: int
) -> None:
    """The actor changes their own password; every other session of theirs ends."""
    if not verify_password(actor.password_hash, current_password):
        raise Invalid("当前密码不正确", errors={"current_password": ["当前密码不正确"]})
    if current_password == new_password:
        raise Invalid(
            "新密码不能与当前密码相同", errors={"new_password": ["新密码不能与当前密码相同"]}
        )
    check_policy(new_password, min_length=min_length, username=actor.username)
    _set_password(session, user=actor, password=new_password, must_change=False)
    audit.record(
        session,
        actor=actor,
        action="user.change_password",
        object_type="user",
        object_id=actor.id,
        department_id=actor.department_id,
    )


def reset_password(session: Session, *, actor: User | None, user_id: int) -> str:
    """An administrator (or the CLI, actor None) sets a new one-time password."""
    user = session.get(User, user_id) if actor is None else get(session, actor, user_id)
    if user is None:
        raise NotFound("用户不存在")
    if actor is not None:
        require_admin_of(actor, user.department_id)
        if not is_sysadmin(actor) and user.role not in DEPT_ADMIN_GRANTS:
            raise Forbidden("无权重置该用户的密码")
    password = generate_password()
    _set_password(session, user=user, password=password, must_change=True)
    audit.record(
        session,
        actor=actor,
        action="user.reset_password",
        object_type="user",
        object_id=user.id,
        department_id=user.department_id,
    )
    return password


def _set_password(session: Session, *, user: User, password: str, must_change: bool) -> None:
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    user.password_changed_at = utcnow()
    sessions.end_all(session, user_id=user.id, reason="password_changed")
    session.flush()
