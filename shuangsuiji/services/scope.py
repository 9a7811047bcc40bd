"""Department scoping: every query for departmental data goes through these helpers.

A user sees and changes only their own department's objects. The system administrator may
change any department's; the auditor (纪检/审计) may read every department's and change none.
Objects outside the caller's scope are reported as not found, so ids cannot be probed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import Session

from ..db import Role, User
from ..errors import Forbidden, NotFound

CROSS_DEPARTMENT_READERS = (Role.SYSADMIN, Role.AUDITOR)


def reads_all(actor: User) -> bool:
    return actor.role in CROSS_DEPARTMENT_READERS


def visible(actor: User, department_column) -> ColumnElement[bool]:
    """A WHERE clause limiting `department_column` to what the actor may read."""
    if reads_all(actor):
        return true()
    return department_column == actor.department_id


def get_visible(session: Session, actor: User, model, object_id, *, label: str = "对象"):
    """Load `model` by primary key if the actor may read it; otherwise NotFound."""
    obj = session.get(model, object_id)
    if obj is None or not (reads_all(actor) or obj.department_id == actor.department_id):
        raise NotFound(f"{label}不存在")
    return obj


def require_admin_of(actor: User, department_id: int | None) -> None:
    """The actor must administer the department (system admin, or its department admin)."""
    if actor.role == Role.SYSADMIN:
        return
    if actor.role == Role.DEPT_ADMIN and department_id == actor.department_id:
        return
    raise Forbidden("无权执行此操作")


def require_sysadmin(actor: User) -> None:
    if actor.role != Role.SYSADMIN:
        raise Forbidden("仅系统管理员可执行此操作")
