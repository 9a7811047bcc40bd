"""Department scoping: every query for departmental data goes through these helpers.

A user sees and changes only their own department's objects. The system administrator may
change any department's; the auditor (纪检/审计) may read every department's and change none.
Objects outside the caller's scope are reported as not found, so ids cannot be probed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import Session

from ..db import Role, User
from ..db.states import CROSS_DEPARTMENT_ROLES
from ..errors import Forbidden, NotFound

CROSS_DEPARTMENT_READERS = CROSS_DEPARTMENT_ROLES
ADMINS = (Role.SYSADMIN, Role.DEPT_ADMIN)
OVERSEERS = (*ADMINS, Role.AUDITOR)


def _role(actor) -> str | None:
    # An anonymous visitor (a template rendered for one) has no role.
    return getattr(actor, "role", None)


def is_sysadmin(actor: User) -> bool:
    """系统管理员: changes any department's data and the system's settings."""
    return _role(actor) == Role.SYSADMIN


def is_dept_admin(actor: User) -> bool:
    """部门管理员: administers their own department."""
    return _role(actor) == Role.DEPT_ADMIN


def is_inspector(actor: User) -> bool:
    """执法检查人员: sees their department's data and enters the results of their own checks."""
    return _role(actor) == Role.INSPECTOR


def is_auditor(actor: User) -> bool:
    """纪检/审计: reads every department's data, changes none."""
    return _role(actor) == Role.AUDITOR


def is_admin(actor: User) -> bool:
    """An administrator of some department (the system administrator or a department's)."""
    return _role(actor) in ADMINS


def reads_all(actor: User) -> bool:
    """Reads every department's data (the system administrator and the auditor)."""
    return _role(actor) in CROSS_DEPARTMENT_READERS


def audits(actor: User) -> bool:
    """Oversees the work: reads the audit trail, draw bundles, full manifests and teams (the
    administrators and the auditor; not the inspectors)."""
    return _role(actor) in OVERSEERS


def administers(actor: User, department_id: int | None) -> bool:
    """The actor may change the department's data: the system administrator, or the
    department's own administrator."""
    if is_sysadmin(actor):
        return True
    return (
        is_dept_admin(actor)
        and department_id is not None
        and (department_id == actor.department_id)
    )


def sees_contacts(actor: User, department_id: int | None) -> bool:
    """The actor may read the mobile numbers and e-mail addresses of the department's
    inspectors in clear (exports, paperwork): those who administer it. Everyone else who
    reads such a list gets them masked (138****5678), as the audit trail keeps them."""
    return administers(actor, department_id)


def own_department(actor: User, requested: int | None) -> int | None:
    """The department a new object of the actor's belongs to: the system administrator names
    it (`requested`), everyone else creates in their own department."""
    return requested if is_sysadmin(actor) and requested is not None else actor.department_id


def visible(actor: User, department_column) -> ColumnElement[bool]:
    """A WHERE clause limiting `department_column` to what the actor may read."""
    if reads_all(actor):
        return true()
    return department_column == actor.department_id


def sees(actor: User, department_id: int | None) -> bool:
    """The actor may read an object of the department."""
    return reads_all(actor) or (department_id is not None and department_id == actor.department_id)


# -- a plan's parts: the lead department's and a joint plan's participating departments' ----


def sees_whole_plan(actor: User, lead_department_id: int | None) -> bool:
    """Reads every department's part of a plan: the lead department's users and the
    cross-department readers. A joint plan's participating department (配合部门) reads its
    own part: its members of the teams and the draw's totals."""
    return reads_all(actor) or (
        lead_department_id is not None and actor.department_id == lead_department_id
    )


def sees_strata(actor: User, lead_department_id: int | None) -> bool:
    """Sees a plan's credit-risk classes (its ratios and counts per class, each drawn firm's
    class and rank): they are the lead department's internal data, so a participating
    department sees the totals only."""
    return sees_whole_plan(actor, lead_department_id)


def opens_draws(actor: User) -> bool:
    """Opens a draw's page and the ceremony page (the administrators and the auditors; an
    inspector finds their part under 我的检查任务)."""
    return audits(actor)


def downloads_bundle(actor: User, lead_department_id: int | None) -> bool:
    """Downloads a draw's bundle and reads its full manifest: it holds every department's
    part, the classes and the regions."""
    return audits(actor) and sees_whole_plan(actor, lead_department_id)


def names_team(actor: User, lead_department_id: int | None, member_user_ids) -> bool:
    """Sees the names of every member of a team, other departments' included: whoever sees
    the whole plan, and the team's own members (they meet at the firm, and the 检查通知书
    the firm receives names them all). Anyone else of a participating department sees its
    own department's members and （其他部门人员） for the others, on every page alike."""
    return sees_whole_plan(actor, lead_department_id) or (
        getattr(actor, "id", None) is not None and actor.id in member_user_ids
    )


def get_visible(session: Session, actor: User, model, object_id, *, label: str = "对象"):
    """Load `model` by primary key if the actor may read it; otherwise NotFound."""
    obj = session.get(model, object_id)
    if obj is None or not sees(actor, obj.department_id):
        raise NotFound(f"{label}不存在")
    return obj


def require_admin_of(actor: User, department_id: int | None) -> None:
    """The actor must administer the department (system admin, or its department admin)."""
    if not administers(actor, department_id):
        raise Forbidden("无权执行此操作")


def require_sysadmin(actor: User) -> None:
    if not is_sysadmin(actor):
        raise Forbidden("仅系统管理员可执行此操作")
