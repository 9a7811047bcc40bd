"""Eligibility (谁可以被抽、谁可以去): the WHERE conditions and queries that decide which
entities a plan may draw, which inspectors may go, and which pairs are excluded.

The database does the filtering; commitments.py turns the results into the SRDP-1 files.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import String, and_, cast, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from ...db import (
    ConflictDeclaration,
    Department,
    Draw,
    DrawAssignment,
    DrawEntity,
    DrawReplacement,
    Entity,
    Inspector,
    InspectorStatus,
    Plan,
    PlanBatch,
    PlanStatus,
    bulk,
)
from ...db.states import EntityStatus
from ...domain import bundle as srdp_bundle
from .settings import UNCLASSIFIED, UNKNOWN_REGION, config, split_tags


def inspector_key(inspector_id: int) -> str:
    """The inspector's id in a bundle: pseudonymous and stable (the bundle sorts keys as bytes)."""
    return f"I{inspector_id}"


def inspector_pk(key: str) -> int:
    return int(key[1:])


def _months_before(day: dt.date, months: int) -> dt.date:
    month0 = day.year * 12 + day.month - 1 - months
    year, month = divmod(month0, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def live_draws():
    """The draws no redraw has replaced (a subquery of draw ids)."""
    replaced = select(Draw.supersedes_id).where(Draw.supersedes_id.is_not(None))
    return select(Draw.id).where(Draw.id.not_in(replaced))


def in_scope(plan: Plan, scope: dict) -> list:
    """WHERE conditions on Entity: the plan's registry, 定向 filters, status (存续 by default)."""
    conditions = [
        Entity.department_id == plan.department_id,
        Entity.status.in_(scope.get("statuses") or [EntityStatus.IN_BUSINESS]),
    ]
    if scope.get("entity_types"):
        conditions.append(Entity.entity_type.in_(scope["entity_types"]))
    for key, column in (
        ("industry_prefixes", Entity.industry_code),
        ("region_prefixes", Entity.region_code),
    ):
        if scope.get(key):
            conditions.append(or_(*(column.startswith(p) for p in scope[key])))
    if scope.get("tags"):
        tags = "," + Entity.tags + ","
        conditions.append(or_(*(tags.contains(f",{t},") for t in scope["tags"])))
    return conditions


def held(plan: Plan, today: dt.date):
    """Conditions on Entity: under an open inspection, and at the plan's annual cap (every
    plan's draws count, by USCC, whichever department drew them); None where the plan does
    not exclude them. Correlated EXISTS, so PostgreSQL plans an anti-join rather than a NOT IN
    it may rescan per row.

    Open: drawn by another plan that is drawn and not yet closed, or by a batch of an active
    recurring plan whose period has not ended."""
    live = live_draws()
    open_ = None
    if plan.exclude_open:
        batch_open = exists(
            select(PlanBatch.id).where(
                PlanBatch.plan_id == Draw.plan_id,
                PlanBatch.key == Draw.batch_key,
                PlanBatch.period_end >= today,
            )
        )
        open_ = exists(
            select(DrawEntity.draw_id)
            .join(Draw, Draw.id == DrawEntity.draw_id)
            .join(Plan, Plan.id == Draw.plan_id)
            .where(
                DrawEntity.uscc == Entity.uscc,
                Draw.id.in_(live),
                or_(
                    Plan.status == PlanStatus.DRAWN,
                    and_(Plan.status == PlanStatus.ACTIVE, batch_open),
                ),
                Plan.id != plan.id,
            )
        )
    capped = None
    if plan.annual_cap:
        start = dt.datetime(today.year, 1, 1, tzinfo=dt.UTC) - dt.timedelta(hours=8)  # 北京时间
        capped = (
            select(func.count())
            .select_from(DrawEntity)
            .join(Draw, Draw.id == DrawEntity.draw_id)
            .where(DrawEntity.uscc == Entity.uscc, Draw.id.in_(live), Draw.created_at >= start)
            .scalar_subquery()
            >= plan.annual_cap
        )
    return open_, capped


def drawn_by_plan(plan: Plan):
    """Condition on Entity: already drawn by one of this plan's live draws (a recurring plan
    covers one year: no entity is drawn twice by its batches)."""
    return exists(
        select(DrawEntity.draw_id)
        .join(Draw, Draw.id == DrawEntity.draw_id)
        .where(
            DrawEntity.uscc == Entity.uscc,
            Draw.plan_id == plan.id,
            Draw.id.in_(live_draws()),
        )
    )


def in_scope_counts(session: Session, plan: Plan) -> Counter:
    """In-scope entities per stratum, before any exclusion (a recurring plan's yearly target
    is a ratio of these)."""
    stratum = func.coalesce(Entity.risk_class, UNCLASSIFIED)
    query = (
        select(stratum, func.count())
        .where(*in_scope(plan, config(plan)["scope"]))
        .group_by(stratum)
    )
    return Counter(dict(session.execute(query).all()))


def count(session: Session, *conditions) -> int:
    return session.scalar(select(func.count()).select_from(Entity).where(*conditions))


def eligible_inspectors(session: Session, plan: Plan, slots: list[str], today: dt.date):
    """Eligible inspectors as bundle records, and how many were left out and why."""
    codes = set(slots) - {srdp_bundle.ANY_DEPT}
    departments = {d.id: d.code for d in session.scalars(select(Department))}
    dept_ids = [i for i, c in departments.items() if c in codes] or [plan.department_id]
    required = set(split_tags(plan.required_qualifications))
    records, left_out = [], Counter()
    rows = session.scalars(
        select(Inspector).where(Inspector.department_id.in_(dept_ids)).order_by(Inspector.id)
    )
    for inspector in rows:
        if inspector.status != InspectorStatus.ACTIVE:
            left_out["status"] += 1
        elif inspector.is_expert:
            left_out["expert"] += 1
        elif inspector.cert_valid_until is not None and inspector.cert_valid_until < today:
            left_out["certificate"] += 1
        elif not required <= set(split_tags(inspector.qualifications)):
            left_out["qualification"] += 1
        else:
            records.append(
                srdp_bundle.Inspector(
                    inspector_key(inspector.id),
                    departments[inspector.department_id],
                    inspector.region_code or UNKNOWN_REGION,
                    plan.workload_cap,
                )
            )
    return records, left_out


def _key_sql(column):
    """inspector_key() in SQL."""
    return literal("I") + cast(column, String)


def exclusion_lines(
    session: Session, plan: Plan, eligible: list, inspector_ids: list[int], today
) -> list[str]:
    """exclusions.tsv lines: CONFLICT pairs from declarations in force (eligible entities),
    PREVIOUS pairs from the draws within the cool-down (assignments and replacements, not
    already a CONFLICT); both for the eligible inspectors only."""
    if not inspector_ids:
        return []
    connection = session.connection()
    in_force = (ConflictDeclaration.inspector_id.in_(inspector_ids)) & (
        ConflictDeclaration.valid_until.is_(None) | (ConflictDeclaration.valid_until >= today)
    )
    lines = bulk.fetch_lines(
        connection,
        select(Entity.uscc, _key_sql(ConflictDeclaration.inspector_id), literal("CONFLICT"))
        .select_from(ConflictDeclaration)
        .join(Entity, Entity.id == ConflictDeclaration.entity_id)
        .where(*eligible, in_force)
        .distinct(),
    )
    if plan.participants:
        # A participating department's inspectors declare conflicts against the entity rows
        # of their own registry: match those by USCC.
        declared = aliased(Entity)
        lines = sorted(
            set(lines)
            | set(
                bulk.fetch_lines(
                    connection,
                    select(
                        declared.uscc,
                        _key_sql(ConflictDeclaration.inspector_id),
                        literal("CONFLICT"),
                    )
                    .select_from(ConflictDeclaration)
                    .join(declared, declared.id == ConflictDeclaration.entity_id)
                    .where(
                        in_force,
                        declared.department_id != plan.department_id,
                        exists(select(Entity.id).where(Entity.uscc == declared.uscc, *eligible)),
                    ),
                )
            )
        )
    if plan.cooldown_months:
        since = dt.datetime.combine(
            _months_before(today, plan.cooldown_months), dt.time(), tzinfo=dt.UTC
        )
        recent = select(Draw.id).where(Draw.id.in_(live_draws()), Draw.created_at >= since)
        # Not limited to eligible entities (SRDP-1 allows exclusions naming entities that are
        # not drawn): a semi-join against the whole registry would cost more than the lines.
        pairs = [
            select(DrawEntity.uscc.label("uscc"), held.inspector_id.label("inspector_id"))
            .join(
                held, (held.draw_id == DrawEntity.draw_id) & (held.position == DrawEntity.position)
            )
            .where(
                DrawEntity.draw_id.in_(recent),
                held.inspector_id.in_(inspector_ids),
            )
            for held in (DrawAssignment, DrawReplacement)
        ]
        previous = union_all(*pairs).subquery()  # duplicates go in Python: cheaper than a sort
        conflict = (
            select(ConflictDeclaration.id)
            .select_from(ConflictDeclaration)
            .join(Entity, Entity.id == ConflictDeclaration.entity_id)
            .where(
                Entity.uscc == previous.c.uscc,
                ConflictDeclaration.inspector_id == previous.c.inspector_id,
                Entity.department_id == plan.department_id,
                in_force,
            )
        )
        key = _key_sql(previous.c.inspector_id)
        query = select(previous.c.uscc, key, literal("PREVIOUS")).where(~exists(conflict))
        lines += set(bulk.fetch_lines(connection, query))
    return lines
