"""What the public sees of inspection results (一公开): published records only.

Look-ups are by exact USCC or by a name fragment of at least two characters (so nobody lists the
registry by an empty search), a page at a time after a cursor (by USCC), so that every firm with
a published result stays findable however many match; searches are rate limited per client
address (PUBLIC_SEARCH_RATE_LIMIT, in the web and API layers). A firm's page lists its
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
from ..pages import Order, decode_cursor, keyset
from ..plans import draws
from ..registry.records import _like_escape

PER_PAGE = 20  # the public site's page; the API's default and maximum are API_PAGE_SIZE, MAX_LIMIT
BY_USCC: Order = ((Entity.uscc, False),)  # the name search's order, and its cursor's
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
    next: str | None  # the cursor of the next page (a name search); None on the last page
    limit: int
    mode: str  # "uscc" | "name"


def normalise_query(q: str | None) -> str:
    return unicodedata.normalize("NFKC", q or "").strip()


def search(
    session: Session, q: str | None, *, cursor: str | None = None, limit: int = PER_PAGE
) -> SearchResult:
    """Firms with published results: exact USCC, or name contains `q` (≥ 2 characters), by
    USCC, `limit` at a time after `cursor` (the `next` of the page before)."""
    q = normalise_query(q)
    published = InspectionRecord.status == RecordStatus.PUBLISHED
    if len(q) == 18 and uscc_rules.is_valid(q.upper()):
        if cursor:  # one firm at most: no page after it
            decode_cursor(BY_USCC, cursor)
            return SearchResult([], None, limit, "uscc")
        code = q.upper()
        row = session.execute(
            select(func.count(), func.max(InspectionRecord.checked_on)).where(
                InspectionRecord.uscc == code, published
            )
        ).one()
        name = _name_of(session, code) if row[0] else None
        hits = [Hit(code, name, row[0], row[1])] if row[0] else []
        return SearchResult(hits, None, limit, "uscc")
    if sum(ch.isalnum() for ch in q) < NAME_MIN:  # punctuation alone matches everything
        raise Invalid(
            "请输入完整的统一社会信用代码，或企业名称中连续的至少 2 个字",
            errors={"q": [f"至少 {NAME_MIN} 个字"]},
        )
    if len(q) > NAME_MAX:
        raise Invalid(f"名称不能超过 {NAME_MAX} 个字", errors={"q": [f"最多 {NAME_MAX} 个字"]})
    named = (
        Entity.name.like(f"%{_like_escape(q)}%", escape="\\"),
        name_has_bigrams(Entity.name, q),
    )
    has_published = exists().where(InspectionRecord.entity_id == Entity.id, published)
    query = select(Entity.uscc).where(*named, has_published).group_by(Entity.uscc)
    page = keyset(session, query, BY_USCC, cursor=cursor, limit=limit, key=lambda u: [u])
    usccs = page.items
    names = dict(
        session.execute(
            select(Entity.uscc, func.max(Entity.name))
            .where(Entity.uscc.in_(usccs), *named, has_published)
            .group_by(Entity.uscc)
        ).all()
    )
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
    hits = [Hit(u, names[u], *counts.get(u, (0, None))) for u in usccs]
    return SearchResult(hits, page.next, limit, "name")


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
