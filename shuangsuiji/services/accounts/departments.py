"""Departments (部门): a province → city → county hierarchy; only the system admin edits it."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db import Department, DepartmentKind, DepartmentLevel, User
from ...errors import Conflict, Invalid, NotFound
from ..platform import audit
from ..scope import reads_all, require_sysadmin

FIELDS = ("code", "name", "short_name", "kind", "level", "region_code", "parent_id", "active")
_PARENT_LEVEL = {"city": "province", "county": "city"}


def snapshot(department: Department) -> dict:
    return {name: getattr(department, name) for name in FIELDS}


def list_visible(session: Session, actor: User) -> list[Department]:
    query = select(Department).order_by(Department.region_code, Department.code)
    if not reads_all(actor):
        query = query.where(Department.id == actor.department_id)
    return list(session.scalars(query))


def children(session: Session) -> dict[int | None, list[int]]:
    """Each department's id → the ids of the departments directly below it (None → the top
    ones), in the order of their region and code."""
    found: dict[int | None, list[int]] = {}
    for department_id, parent_id in session.execute(
        select(Department.id, Department.parent_id).order_by(
            Department.region_code, Department.code
        )
    ):
        found.setdefault(parent_id, []).append(department_id)
    return found


def descendants(
    session: Session, department_id: int, *, below: dict[int | None, list[int]] | None = None
) -> list[int]:
    """The ids of every department below this one (its children, their children, …), each
    once, nearest first; `below` is `children(session)` when the caller has it already."""
    below = children(session) if below is None else below
    found: list[int] = []
    seen = {department_id}
    level = [department_id]
    while level:
        level = [c for d in level for c in below.get(d, ()) if c not in seen]
        seen.update(level)
        found += level
    return found


def list_all(
    session: Session, *, active_only: bool = False, by_region: bool = False
) -> list[Department]:
    """Every department, to choose from (a plan's department, a slot's, the public filter):
    names only, none of their data."""
    order = (Department.region_code, Department.code) if by_region else (Department.code,)
    query = select(Department).order_by(*order)
    if active_only:
        query = query.where(Department.active.is_(True))
    return list(session.scalars(query))


def get(session: Session, actor: User, department_id: int) -> Department:
    department = session.get(Department, department_id)
    if department is None or not (reads_all(actor) or department.id == actor.department_id):
        raise NotFound("部门不存在")
    return department


def _check(session: Session, values: dict, current: Department | None) -> None:
    errors: dict[str, list[str]] = {}
    if "kind" in values and values["kind"] not in {k.value for k in DepartmentKind}:
        errors["kind"] = ["部门类别无效"]
    if "level" in values and values["level"] not in {lv.value for lv in DepartmentLevel}:
        errors["level"] = ["层级须为 province、city 或 county"]
    if "code" in values and not re.fullmatch(r"[A-Za-z0-9_.-]{2,32}", values["code"] or ""):
        # The code goes into draw bundles (SRDP-1 dept field) and API paths.
        errors["code"] = ["部门代码须为 2–32 位字母、数字或 _ . -"]
    if "region_code" in values and not re.fullmatch(r"[1-9]\d{5}", values["region_code"] or ""):
        errors["region_code"] = ["行政区划代码须为 6 位数字（GB/T 2260）"]
    level = values.get("level", current.level if current else None)
    parent_id = values.get("parent_id", current.parent_id if current else None)
    if parent_id is not None:
        parent = session.get(Department, parent_id)
        if parent is None:
            errors["parent_id"] = ["上级部门不存在"]
        elif current is not None and parent.id == current.id:
            errors["parent_id"] = ["上级部门不能是本部门"]
        elif _PARENT_LEVEL.get(level) != parent.level:
            errors["parent_id"] = ["上级部门的层级不符（省 → 市 → 县）"]
    elif level in _PARENT_LEVEL:
        errors["parent_id"] = ["市级、县级部门须指定上级部门"]
    if errors:
        raise Invalid("部门信息有误", errors=errors)
    code = values.get("code")
    changed = code and (current is None or code != current.code)
    if changed and session.scalar(select(Department.id).where(Department.code == code)):
        raise Conflict(f"部门代码 {code} 已存在", errors={"code": ["部门代码已存在"]})


def create(session: Session, *, actor: User, values: dict) -> Department:
    require_sysadmin(actor)
    _check(session, values, None)
    department = Department(**{k: v for k, v in values.items() if k in FIELDS})
    session.add(department)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="department.create",
        object_type="department",
        object_id=department.id,
        after=snapshot(department),
        department_id=department.id,
    )
    return department


def update(session: Session, *, actor: User, department_id: int, values: dict) -> Department:
    require_sysadmin(actor)
    department = get(session, actor, department_id)
    _check(session, values, department)
    audit.update_recorded(
        session,
        actor=actor,
        obj=department,
        values={k: v for k, v in values.items() if k in FIELDS},
        snapshot=snapshot,
        action="department.update",
        object_type="department",
    )
    return department
