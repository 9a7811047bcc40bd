"""What the public sees of inspection results (一公开): published records only.

Look-ups are by exact USCC or by a name fragment of at least two characters, a page at a time and
never more than `MAX_PAGES` pages: nobody can list the whole registry. A firm's page lists its
published inspections: department, plan, matters, date, result codes, check methods, follow-up
measures. Never shown: credit-risk class, 身份证号, phone numbers, conflict declarations, notes
and review comments; inspector names only when the deployment allows it.

The firm look-up is the public site's hot path: two indexed queries in SQLAlchemy Core on the
request's connection, no ORM objects.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ..db import Department, Draw, Entity, InspectionRecord, InspectionResult, Matter, Plan
from ..db.registry import name_has_bigrams
from ..domain import result_codes as rc
from ..domain import uscc as uscc_rules
from ..errors import Invalid, NotFound
from . import draws

PER_PAGE = 20
MAX_PAGES = 10
NAME_MIN = 2
NAME_MAX = 60


@dataclass
class Hit:
    uscc: str
    name: str
    inspections: int
    last_checked_on: dt.date | None


@dataclass
class SearchResult:
    hits: list[Hit]
    page: int
    has_next: bool
    mode: str  # "uscc" | "name"


def normalise_query(q: str | None) -> str:
    return unicodedata.normalize("NFKC", q or "").strip()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, q: str | None, *, page: int = 1) -> SearchResult:
    """Firms with published results: exact USCC, or name contains `q` (≥ 2 characters)."""
    q = normalise_query(q)
    if page < 1 or page > MAX_PAGES:
        raise Invalid(f"页码须在 1 到 {MAX_PAGES} 之间；结果较多时请输入更完整的名称")
    published = InspectionRecord.status == "published"
    if len(q) == 18 and uscc_rules.is_valid(q.upper()):
        code = q.upper()
        row = session.execute(
            select(func.count(), func.max(InspectionRecord.checked_on)).where(
                InspectionRecord.uscc == code, published
            )
        ).one()
        name = _name_of(session, code) if row[0] else None
        hits = [Hit(code, name, row[0], row[1])] if row[0] else []
        return SearchResult(hits, 1, False, "uscc")
    if sum(ch.isalnum() for ch in q) < NAME_MIN:  # punctuation alone matches everything
        raise Invalid(
            "请输入完整的统一社会信用代码，或企业名称中连续的至少 2 个字",
            errors={"q": [f"至少 {NAME_MIN} 个字"]},
        )
    if len(q) > NAME_MAX:
        raise Invalid(f"名称不能超过 {NAME_MAX} 个字", errors={"q": [f"最多 {NAME_MAX} 个字"]})
    has_published = exists().where(InspectionRecord.entity_id == Entity.id, published)
    query = (
        select(Entity.uscc, func.max(Entity.name))
        .where(
            Entity.name.like(f"%{_like_escape(q)}%", escape="\\"),
            name_has_bigrams(Entity.name, q),
            has_published,
        )
        .group_by(Entity.uscc)
        .order_by(Entity.uscc)
        .limit(PER_PAGE + 1)
        .offset((page - 1) * PER_PAGE)
    )
    found = session.execute(query).all()
    usccs = [u for u, _ in found[:PER_PAGE]]
    counts = {
        u: (n, last)
        for u, n, last in session.execute(
            select(
                InspectionRecord.uscc,
                func.count(),
                func.max(InspectionRecord.checked_on),
            )
            .where(InspectionRecord.uscc.in_(usccs), published)
            .group_by(InspectionRecord.uscc)
        )
    }
    hits = [Hit(u, name, *counts.get(u, (0, None))) for u, name in found[:PER_PAGE]]
    return SearchResult(hits, page, len(found) > PER_PAGE and page < MAX_PAGES, "name")


def _name_of(session: Session, code: str) -> str:
    """The name on the registry of the firm's latest published inspection."""
    return session.scalar(
        select(Entity.name)
        .join(InspectionRecord, InspectionRecord.entity_id == Entity.id)
        .where(InspectionRecord.uscc == code, InspectionRecord.status == "published")
        .order_by(InspectionRecord.published_at.desc())
        .limit(1)
    )


_RECORDS = (
    select(
        InspectionRecord.id,
        InspectionRecord.draw_id,
        InspectionRecord.position,
        InspectionRecord.checked_on,
        InspectionRecord.published_at,
        Department.name.label("department"),
        Plan.code.label("plan_code"),
        Plan.title.label("plan_title"),
        Entity.name.label("name"),
    )
    .join(Department, Department.id == InspectionRecord.department_id)
    .join(Plan, Plan.id == InspectionRecord.plan_id)
    .join(Entity, Entity.id == InspectionRecord.entity_id)
    .where(InspectionRecord.status == "published")
    .order_by(InspectionRecord.checked_on.desc(), InspectionRecord.id.desc())
)
_RESULTS = (
    select(
        InspectionResult.record_id,
        Matter.code,
        Matter.name,
        InspectionResult.codes,
        InspectionResult.methods,
        InspectionResult.measures,
        InspectionResult.follow_up_closed,
    )
    .join(Matter, Matter.id == InspectionResult.matter_id)
    .order_by(InspectionResult.record_id, Matter.code)
)


def _split(text: str) -> list[str]:
    return text.split(",") if text else []


def firm(session: Session, code: str, *, show_inspectors: bool = False) -> dict:
    """A firm's published inspections, newest first (404 when it has none)."""
    code = normalise_query(code).upper()
    connection = session.connection()
    records = connection.execute(_RECORDS.where(InspectionRecord.uscc == code)).all()
    if not records:
        raise NotFound("未找到该企业已公示的检查结果")
    by_record: dict[int, list] = {r.id: [] for r in records}
    for row in connection.execute(_RESULTS.where(InspectionResult.record_id.in_(by_record))):
        by_record[row.record_id].append(
            {
                "matter_code": row.code,
                "matter": row.name,
                "results": [{"code": c, "label": rc.BY_CODE[c].label} for c in _split(row.codes)],
                "methods": [rc.CHECK_METHODS[m] for m in _split(row.methods)],
                "measures": [rc.MEASURES[m] for m in _split(row.measures)],
                "follow_up_closed": row.follow_up_closed,
            }
        )
    inspections = []
    for r in records:
        item = {
            "department": r.department,
            "plan_code": r.plan_code,
            "plan_title": r.plan_title,
            "checked_on": r.checked_on,
            "published_at": r.published_at,
            "draw_id": r.draw_id,
            "matters": by_record[r.id],
        }
        if show_inspectors:
            item["inspectors"] = _inspector_names(session, r.draw_id, r.position)
        inspections.append(item)
    return {"uscc": code, "name": records[0].name, "inspections": inspections}


def _inspector_names(session: Session, draw_id: int, position: int) -> list[str]:
    draw = session.get(Draw, draw_id)
    row = draws.teams(session, draw, offset=position, limit=1)[0]
    return [m.inspector.name for m in row.members if m.inspector is not None]
