"""What the public sees of inspection results (一公开): published records only.

Look-ups are by exact USCC or by a name fragment of at least two characters, a page at a time and
never more than `MAX_PAGES` pages: nobody can list the whole registry. A firm's page lists its
published inspections: department, plan, matters, date, result codes, check methods, follow-up
measures. Never shown: credit-risk class, 身份证号, phone numbers, conflict declarations, notes
and review comments; inspector names only when the deployment allows it.

The firm look-up is the public site's hot path: one indexed query on the request's connection,
no ORM objects.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ...db import Draw, Entity, InspectionRecord
from ...db.registry import name_has_bigrams
from ...db.states import RecordStatus
from ...domain import result_codes as rc
from ...domain import uscc as uscc_rules
from ...errors import Invalid, NotFound
from ..plans import draws
from ..registry.records import _like_escape

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


def search(session: Session, q: str | None, *, page: int = 1) -> SearchResult:
    """Firms with published results: exact USCC, or name contains `q` (≥ 2 characters)."""
    q = normalise_query(q)
    if page < 1 or page > MAX_PAGES:
        raise Invalid(f"页码须在 1 到 {MAX_PAGES} 之间；结果较多时请输入更完整的名称")
    published = InspectionRecord.status == RecordStatus.PUBLISHED
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
        .where(InspectionRecord.uscc == code, InspectionRecord.status == RecordStatus.PUBLISHED)
        .order_by(InspectionRecord.published_at.desc())
        .limit(1)
    )


# One statement, one round trip: the firm's published records with their matter results, sent
# as the driver's own SQL (building and compiling a select() per request, and matching result
# columns to types, cost more than the query). Served by ix_inspection_records_uscc and the
# foreign keys' indexes.
_FIRM = """
    SELECT r.id, r.draw_id, r.position, r.checked_on, r.published_at,
           d.name AS department, p.code AS plan_code, p.title AS plan_title, e.name AS name,
           m.code AS matter_code, m.name AS matter, x.codes, x.methods, x.measures,
           x.follow_up_closed
    FROM inspection_records r
    JOIN departments d ON d.id = r.department_id
    JOIN plans p ON p.id = r.plan_id
    JOIN entities e ON e.id = r.entity_id
    LEFT JOIN inspection_results x ON x.record_id = r.id
    LEFT JOIN matters m ON m.id = x.matter_id
    WHERE r.uscc = {uscc} AND r.status = '{published}'
    ORDER BY r.checked_on DESC, r.id DESC, m.code
"""


def _as_date(value) -> dt.date:
    """Raw column values (no result-type processing, which cost more than the query): a date
    on PostgreSQL, ISO text on SQLite."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _as_utc(value) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _split(text: str | None) -> list[str]:
    return text.split(",") if text else []


def firm(session: Session, code: str, *, show_inspectors: bool = False) -> dict:
    """A firm's published inspections, newest first (404 when it has none)."""
    code = normalise_query(code).upper()
    connection = session.connection()
    placeholder = "?" if connection.dialect.paramstyle == "qmark" else "%s"  # SQLite, psycopg
    rows = connection.exec_driver_sql(
        _FIRM.format(uscc=placeholder, published=RecordStatus.PUBLISHED), (code,)
    ).all()
    if not rows:
        raise NotFound("未找到该企业已公示的检查结果")
    inspections: list[dict] = []
    current = None
    for row in rows:
        if current is None or current["_id"] != row.id:
            current = {
                "_id": row.id,
                "department": row.department,
                "plan_code": row.plan_code,
                "plan_title": row.plan_title,
                "checked_on": _as_date(row.checked_on),
                "published_at": _as_utc(row.published_at),
                "draw_id": row.draw_id,
                "matters": [],
            }
            if show_inspectors:
                current["inspectors"] = _inspector_names(session, row.draw_id, row.position)
            inspections.append(current)
        if row.matter_code is not None:
            current["matters"].append(
                {
                    "matter_code": row.matter_code,
                    "matter": row.matter,
                    "results": [
                        {"code": c, "label": rc.BY_CODE[c].label} for c in _split(row.codes)
                    ],
                    "methods": [rc.CHECK_METHODS[m] for m in _split(row.methods)],
                    "measures": [rc.MEASURES[m] for m in _split(row.measures)],
                    "follow_up_closed": bool(row.follow_up_closed),
                }
            )
    for item in inspections:
        del item["_id"]
    return {"uscc": code, "name": rows[0].name, "inspections": inspections}


def _inspector_names(session: Session, draw_id: int, position: int) -> list[str]:
    draw = session.get(Draw, draw_id)
    row = draws.teams(session, draw, offset=position, limit=1)[0]
    return [m.inspector.name for m in row.members if m.inspector is not None]


def firm_json(doc: dict) -> dict:
    """`firm()`'s document as JSON values, without a schema pass (the public look-up's hot
    path; a test checks it equals PublicFirmOut's dump)."""
    return {
        "uscc": doc["uscc"],
        "name": doc["name"],
        "inspections": [
            {
                **item,
                "checked_on": item["checked_on"].isoformat(),
                "published_at": item["published_at"].isoformat(),
            }
            for item in doc["inspections"]
        ],
    }
