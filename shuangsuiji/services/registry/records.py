"""The registry lists: search, view and edit entities, inspectors, matters and conflicts.

Every query is limited to what the caller may read (scope.py); edits go through the same field
parsers as imports and are recorded in the audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ...columns import CellError
from ...db import ConflictDeclaration, Entity, Inspector, Matter, User
from ...db.registry import name_has_bigrams
from ...db.states import Role
from ...errors import Conflict, Invalid, NotFound
from ..pages import Keyset, Order, keyset
from ..platform import audit
from ..scope import is_inspector, reads_all, require_admin_of
from .imports import KINDS, Kind

LABELS = {
    "entities": "检查对象",
    "inspectors": "执法检查人员",
    "matters": "抽查事项",
    "conflicts": "回避声明",
}


# The lists' orderings for keyset paging (the last column is unique): the registries in the
# order they were entered (imported), the matters by department and code as published.
ORDERS: dict[str, Order] = {
    "entities": ((Entity.id, False),),
    "inspectors": ((Inspector.id, False),),
    "matters": ((Matter.department_id, False), (Matter.code, False), (Matter.id, False)),
    "conflicts": ((ConflictDeclaration.id, False),),
}


@dataclass
class EntityFilters:
    q: str | None = None  # name contains
    uscc: str | None = None
    region_code: str | None = None  # prefix: 1310 matches every county of Langfang
    industry_code: str | None = None  # prefix: 52 matches its groups and classes
    entity_type: str | None = None
    status: str | None = None
    risk_class: str | None = None
    tag: str | None = None
    abnormal_listed: bool | None = None


def _scoped(query: Select, actor: User, model) -> Select:
    if not reads_all(actor):
        query = query.where(model.department_id == actor.department_id)
    return query


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_entities(actor: User, filters: EntityFilters, *, department_id: int | None = None):
    """The entities the actor may read that match, as a select() ordered by id."""
    query = _scoped(select(Entity), actor, Entity).order_by(Entity.id)
    if department_id is not None:
        query = query.where(Entity.department_id == department_id)
    f = filters
    if f.q:
        term = f.q.strip()
        query = query.where(Entity.name.like(f"%{_like_escape(term)}%", escape="\\"))
        if len(term) >= 2:  # a single character has no bigram: a scan (PostgreSQL)
            query = query.where(name_has_bigrams(Entity.name, term))
    if f.uscc:
        query = query.where(Entity.uscc == f.uscc.strip().upper())
    if f.region_code:
        query = query.where(Entity.region_code.startswith(region_prefix(f.region_code)))
    if f.industry_code:
        query = query.where(Entity.industry_code.startswith(f.industry_code.strip().upper()))
    if f.entity_type:
        query = query.where(Entity.entity_type == f.entity_type)
    if f.status:
        query = query.where(Entity.status == f.status)
    if f.risk_class:
        query = query.where(Entity.risk_class == f.risk_class)
    if f.tag:
        tag = _like_escape(f.tag.strip())
        query = query.where(("," + Entity.tags + ",").like(f"%,{tag},%", escape="\\"))
    if f.abnormal_listed is not None:
        query = query.where(Entity.abnormal_listed.is_(f.abnormal_listed))
    return query


def region_prefix(code: str) -> str:
    """GB/T 2260 codes nest: 130000 (province) → 131000 (city) → 131024 (county)."""
    code = code.strip()
    if len(code) == 6 and code.endswith("0000"):
        return code[:2]
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


def search_inspectors(
    actor: User,
    *,
    q: str | None = None,
    status: str | None = None,
    qualification: str | None = None,
):
    query = _scoped(select(Inspector), actor, Inspector).order_by(Inspector.id)
    if q:
        pattern = f"%{_like_escape(q.strip())}%"
        query = query.where(
            Inspector.name.like(pattern, escape="\\") | (Inspector.cert_no == q.strip().upper())
        )
    if status:
        query = query.where(Inspector.status == status)
    if qualification:
        tag = _like_escape(qualification.strip())
        query = query.where(("," + Inspector.qualifications + ",").like(f"%,{tag},%", escape="\\"))
    return query


def search_matters(
    actor: User | None,
    *,
    q: str | None = None,
    category: str | None = None,
    department_id: int | None = None,
):
    """Matters are public: `actor` None lists every department's (the public site)."""
    query = select(Matter).order_by(Matter.department_id, Matter.code)
    if actor is not None:
        query = _scoped(query, actor, Matter)
    if department_id is not None:
        query = query.where(Matter.department_id == department_id)
    if q:
        query = query.where(Matter.name.like(f"%{_like_escape(q.strip())}%", escape="\\"))
    if category:
        query = query.where(Matter.category == category)
    return query


def search_conflicts(actor: User, *, inspector_id: int | None = None, entity_id: int | None = None):
    query = _scoped(select(ConflictDeclaration), actor, ConflictDeclaration).order_by(
        ConflictDeclaration.id
    )
    if inspector_id is not None:
        query = query.where(ConflictDeclaration.inspector_id == inspector_id)
    if entity_id is not None:
        query = query.where(ConflictDeclaration.entity_id == entity_id)
    return query


def query_of(actor: User | None, kind: str, filters: dict) -> Select:
    """The select() of `kind`'s list the actor may read, with the list's filters (the names of
    EntityFilters for entities, of search_inspectors/matters/conflicts' keywords for the rest)."""
    if kind == "entities":
        return search_entities(actor, EntityFilters(**filters))
    if kind == "inspectors":
        return search_inspectors(actor, **filters)
    if kind == "matters":
        return search_matters(actor, **filters)
    return search_conflicts(actor, **filters)


def page(
    session: Session,
    actor: User | None,
    kind: str,
    filters: dict,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> Keyset:
    """One page of `kind`'s list (ORDERS) after `cursor`: an index finds it at once however far
    down the list, the name search included (its bigram index with id > cursor)."""
    return keyset(session, query_of(actor, kind, filters), ORDERS[kind], cursor=cursor, limit=limit)


def get(session: Session, actor: User, kind: str, object_id: int):
    model = KINDS[kind].model
    obj = session.get(model, object_id)
    if obj is None or not (reads_all(actor) or obj.department_id == actor.department_id):
        raise NotFound(f"{LABELS[kind]}不存在")
    return obj


def snapshot(obj, spec: Kind) -> dict:
    names = [
        c.name for c in spec.model.__table__.columns if c.name not in ("created_at", "updated_at")
    ]
    return {n: _jsonable(getattr(obj, n)) for n in names}


def _jsonable(value):
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def parse_form(spec: Kind, raw: dict[str, str], *, partial: bool) -> dict:
    """Parse submitted text values with the list's field parsers; Invalid lists every problem."""
    values, errors = {}, {}
    for field in spec.fields:
        if field.name not in raw:
            if not partial and field.required:
                errors[field.name] = ["不能为空"]
            continue
        try:
            value = field.parse(raw[field.name] if raw[field.name] is not None else "")
            if field.required and value is None:
                raise CellError("不能为空")
            values[field.name] = value
        except CellError as exc:
            errors[field.name] = [str(exc)]
    if errors:
        raise Invalid("填写有误", errors=errors)
    return values


# An entity's fields that only their workflows change: the 经营异常名录 flag (listing and
# removal, services/results/credit) and the monthly credit-risk class (the risk-class import).
WORKFLOW_FIELDS = {
    "abnormal_listed": "只能通过经营异常名录的列入、移出流程变更",
    "risk_class": "只能通过信用风险分类导入变更",
    "risk_class_month": "只能通过信用风险分类导入变更",
}


def _refuse_workflow_fields(kind: str, values: dict, current) -> None:
    """A hand edit may not change what a workflow owns (Invalid names each field); a value sent
    back unchanged (a form's read-only field) is dropped. A new record is never listed by
    hand; its credit-risk class may come with it, as in the registration system's export."""
    if kind != "entities":
        return
    errors = {}
    for name, reason in WORKFLOW_FIELDS.items():
        if name not in values:
            continue
        if current is None:
            if name == "abnormal_listed" and values[name]:
                errors[name] = [reason]
        elif values[name] == getattr(current, name):
            del values[name]
        else:
            errors[name] = [reason]
    if errors:
        raise Invalid("经营异常名录标记和信用风险分类不能在此修改", errors=errors)


def create(
    session: Session, *, actor: User, kind: str, department_id: int, raw: dict[str, str]
) -> object:
    spec = KINDS[kind]
    if kind == "conflicts":
        raise Invalid("回避声明请通过导入或人员页面登记")
    require_admin_of(actor, department_id)
    values = parse_form(spec, raw, partial=False)
    _refuse_workflow_fields(kind, values, None)
    _check_unique(session, spec, department_id, values, None)
    obj = spec.model(department_id=department_id, **values)
    session.add(obj)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"{kind}.create",
        object_type=kind,
        object_id=obj.id,
        after=snapshot(obj, spec),
        department_id=department_id,
    )
    return obj


def update(
    session: Session, *, actor: User, kind: str, object_id: int, raw: dict[str, str]
) -> object:
    spec = KINDS[kind]
    obj = get(session, actor, kind, object_id)
    require_admin_of(actor, obj.department_id)
    values = parse_form(spec, raw, partial=True)
    _refuse_workflow_fields(kind, values, obj)
    _check_unique(session, spec, obj.department_id, values, obj)
    audit.update_recorded(
        session,
        actor=actor,
        obj=obj,
        values=values,
        snapshot=lambda o: snapshot(o, spec),
        action=f"{kind}.update",
        object_type=kind,
    )
    return obj


def _check_unique(session: Session, spec: Kind, department_id: int, values: dict, current):
    model = spec.model
    if spec.name == "inspectors" and "cert_no" in values:
        clash = session.scalar(select(Inspector).where(Inspector.cert_no == values["cert_no"]))
        if clash is not None and clash is not current:
            raise Conflict("该执法证号已登记", errors={"cert_no": ["该执法证号已登记"]})
        return
    key = spec.key[0]
    if key in values:
        clash = session.scalar(
            select(model).where(
                model.department_id == department_id, getattr(model, key) == values[key]
            )
        )
        if clash is not None and clash is not current:
            raise Conflict("本部门名录中已有相同记录", errors={key: ["已存在"]})


def link_account(
    session: Session, *, actor: User, inspector_id: int, user_id: int | None
) -> Inspector:
    """Link an inspector record to the console account its inspector signs in with (or
    unlink it): their 我的检查任务 page then lists their draws. Same department, role
    inspector, one record per account."""
    inspector = get(session, actor, "inspectors", inspector_id)
    require_admin_of(actor, inspector.department_id)
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None or user.department_id != inspector.department_id:
            raise Invalid("账号不存在或不属于本部门", errors={"user_id": ["请选择本部门账号"]})
        if not is_inspector(user):
            raise Invalid("只能关联执法检查人员角色的账号", errors={"user_id": ["角色不符"]})
        taken = session.scalar(select(Inspector).where(Inspector.user_id == user_id))
        if taken is not None and taken.id != inspector.id:
            raise Conflict(
                f"该账号已关联执法人员 {taken.name}", errors={"user_id": ["已关联其他人员"]}
            )
    audit.update_recorded(
        session,
        actor=actor,
        obj=inspector,
        values={"user_id": user_id},
        snapshot=lambda o: {"id": o.id, "user_id": o.user_id},
        action="inspectors.link_account",
        object_type="inspectors",
    )
    return inspector


def matters_for_plan(session: Session, department_id: int, participant_ids) -> list[Matter]:
    """The matters a plan of the department may check: its own first, then its participants'
    (a joint plan), each by code."""
    return list(
        session.scalars(
            select(Matter)
            .where(Matter.department_id.in_([department_id, *participant_ids]))
            .order_by(Matter.department_id != department_id, Matter.code)
        )
    )


def inspectors_of_account(session: Session, user: User) -> list[Inspector]:
    """The 执法人员 records linked to a user's account (their own tasks)."""
    return list(session.scalars(select(Inspector).where(Inspector.user_id == user.id)))


def linkable_accounts(session: Session, inspector: Inspector) -> list[User]:
    """The department's inspector accounts, for the link form."""
    return list(
        session.scalars(
            select(User)
            .where(User.department_id == inspector.department_id, User.role == Role.INSPECTOR)
            .order_by(User.username)
        )
    )
