"""Paperwork of the results and the credit record: the review list (检查结果审核) and the
经营异常名录 as tables, with the filters the pages have; the printable 列入经营异常名录决定书
and 移出经营异常名录决定书; and the one table of every downloadable sheet (`SHEETS`), which
the console and the worker (`export.sheet`, for a large one) both use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...db import AbnormalListing, InspectionResult, User
from ...db.states import ListingStatus
from ...domain import result_codes as rc
from ...errors import Conflict, Invalid, NotFound
from ..plans import paperwork as draw_paperwork
from ..platform import tasks
from ..registry.exports import FORMATS, Sheet
from . import credit, results

_CHUNK = 1000


def _size(session: Session, query, limit: int) -> int | None:
    """The query's row count when it is at most `limit`, else None (counted no further)."""
    found = session.scalar(select(func.count()).select_from(query.limit(limit + 1).subquery()))
    return found if found <= limit else None


# --- 检查结果审核 -------------------------------------------------------------------------------

REVIEW_HEADERS = [
    "检查对象",
    "统一社会信用代码",
    "抽查任务编号",
    "抽查任务",
    "检查日期",
    "检查结果",
    "状态",
    "录入人",
    "提交时间",
    "审核人",
    "审核时间",
    "审核意见",
    "公示时间",
]


def _codes_text(rows: list[InspectionResult]) -> str:
    codes = {code for r in rows for code in r.codes.split(",") if code}
    ordered = sorted(codes, key=lambda c: rc.ORDER.get(c, len(rc.ORDER)))
    return "；".join(f"{c} {rc.BY_CODE[c].label}" if c in rc.BY_CODE else c for c in ordered)


def review_sheet(session: Session, actor: User, *, status: str | None, limit: int) -> Sheet:
    """The records of 检查结果审核 as its page lists them (the same status filter and
    department scope), with the result codes of every matter and who entered and reviewed."""
    if status and status not in results.STATUS_LABELS:
        raise Invalid("状态无效", errors={"status": ["状态无效"]})
    query = results.review_queue(actor, status=status or None)

    def rows() -> Iterator[list]:
        names: dict[int, str] = {}

        def name(user_id: int | None) -> str:
            if user_id is None:
                return ""
            if user_id not in names:
                user = session.get(User, user_id)
                names[user_id] = user.display_name if user else ""
            return names[user_id]

        found = session.execute(query.execution_options(yield_per=_CHUNK)).scalars()
        for part in found.partitions():
            by_record: dict[int, list[InspectionResult]] = {}
            for r in session.scalars(
                select(InspectionResult).where(
                    InspectionResult.record_id.in_([record.id for record in part])
                )
            ):
                by_record.setdefault(r.record_id, []).append(r)
            for record in part:
                yield [
                    record.entity.name,
                    record.uscc,
                    record.plan.code,
                    record.plan.title,
                    record.checked_on,
                    _codes_text(by_record.get(record.id, [])),
                    results.STATUS_LABELS.get(record.status, record.status),
                    name(record.entered_by_id),
                    record.submitted_at,
                    name(record.reviewed_by_id),
                    record.reviewed_at,
                    record.review_comment or "",
                    record.published_at,
                ]

    label = results.STATUS_LABELS.get(status, "全部") if status else "全部"
    return Sheet(
        title="检查结果审核",
        stem=f"检查结果-{label}",
        headers=REVIEW_HEADERS,
        rows=rows,
        size=_size(session, query, limit),
    )


# --- 经营异常名录 --------------------------------------------------------------------------------

LISTING_HEADERS = [
    "检查对象",
    "统一社会信用代码",
    "列入事由",
    "结果代码",
    "核实日期",
    "责令限期公示至",
    "状态",
    "办理期限",
    "提示",
    "决定日期",
    "列入日期",
    "申请移出日期",
    "列入事由消除情况",
    "移出日期",
    "办理部门",
]


def _hints(view: credit.ListingView) -> str:
    hints = []
    if view.overdue:
        hints.append("已逾期")
    if view.serious_candidate:
        hints.append("严重违法失信名单候选")
    return "、".join(hints)


def listing_sheet(
    session: Session,
    actor: User,
    *,
    today: dt.date,
    status: str | None,
    overdue_only: bool,
    limit: int,
) -> Sheet:
    """The 经营异常名录 records as the page lists them: the same filters (status, overdue
    only), scope and order."""
    settings = credit.current()
    query = credit.listing_query(actor, today=today, status=status, overdue_only=overdue_only)

    def rows() -> Iterator[list]:
        for x in session.scalars(query.execution_options(yield_per=_CHUNK)):
            view = credit.view(x, today, settings)
            yield [
                x.entity.name,
                x.entity.uscc,
                x.ground,
                x.result_code,
                x.verified_on,
                x.order_deadline,
                credit.LISTING_STATUS_LABELS.get(x.status, x.status),
                view.due,
                _hints(view),
                x.decided_on,
                x.listed_on,
                x.removal_requested_on,
                x.removal_reason or "",
                x.removed_on,
                x.department.name,
            ]

    parts = ["经营异常名录"]
    if status:
        parts.append(credit.LISTING_STATUS_LABELS[status])
    if overdue_only:
        parts.append("已逾期")
    return Sheet(
        title="经营异常名录",
        stem="-".join(parts),
        headers=LISTING_HEADERS,
        rows=rows,
        size=_size(session, query, limit),
    )


# --- every downloadable sheet ------------------------------------------------------------------


def _draw(session, actor, params, *, today, limit):
    draw_id = params.get("draw_id")
    if not isinstance(draw_id, int) or isinstance(draw_id, bool):
        raise Invalid("抽取结果编号无效")
    return draw_paperwork.draw_sheet(session, actor, draw_id, limit=limit)


def _review(session, actor, params, *, today, limit):
    return review_sheet(session, actor, status=params.get("status") or None, limit=limit)


def _listings(session, actor, params, *, today, limit):
    return listing_sheet(
        session,
        actor,
        today=today,
        status=params.get("status") or None,
        overdue_only=bool(params.get("overdue")),
        limit=limit,
    )


# name: (what the task page calls it, the builder taking (session, actor, params, today, limit))
SHEETS: dict[str, tuple[str, Callable[..., Sheet]]] = {
    "draw": ("抽取名单", _draw),
    "results": ("检查结果审核", _review),
    "listings": ("经营异常名录", _listings),
}


def sheet(
    session: Session, actor: User, name: str, params: dict, *, today: dt.date, limit: int = 0
) -> Sheet:
    """The sheet `name` with its parameters, for the actor (NotFound for an unknown one)."""
    if name not in SHEETS:
        raise NotFound("没有这种导出表格")
    return SHEETS[name][1](session, actor, params, today=today, limit=limit)


def enqueue(session: Session, *, actor: User, name: str, params: dict, fmt: str):
    """Queue the writing of a sheet too large to be downloaded at once (`export.sheet`)."""
    if name not in SHEETS or fmt not in FORMATS:
        raise Invalid("导出的表格或格式无效")
    return tasks.enqueue(
        session,
        kind="export.sheet",
        params={"sheet": name, "params": params, "format": fmt},
        actor=actor,
        department_id=actor.department_id,
    )


# --- 列入/移出经营异常名录决定书 ----------------------------------------------------------------

# What the decision says the firm did, per result code of its ground.
FINDINGS = {
    "6": "通过登记的住所（经营场所）无法联系",
    "C": "公示的企业信息隐瞒真实情况、弄虚作假",
    "B": "未按照本机关责令的期限公示有关企业信息",
    "8": "拒不配合监督检查，情节严重",
}
DOCUMENTS = {"listing": "列入经营异常名录决定书", "removal": "移出经营异常名录决定书"}


def chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def document_number(listing: AbnormalListing, kind: str) -> str:
    """文号: the department's short name, 异列 (listing) or 异移 (removal), the year of the
    decision and the record's number, e.g. 廊坊市监异列〔2026〕17号."""
    department = listing.department
    short = department.short_name or department.name
    day = listing.listed_on if kind == "listing" else listing.removed_on
    return f"{short}{'异列' if kind == 'listing' else '异移'}〔{day.year}〕{listing.id}号"


def decision(session: Session, actor: User, listing_id: int, kind: str) -> dict:
    """What a printed decision needs: the listing, its department and entity, the document's
    title and number, the finding and the dates in Chinese. A listing decision exists once the
    entity was listed, a removal decision once it was removed (Conflict before)."""
    if kind not in DOCUMENTS:
        raise NotFound("没有这种决定书")
    listing = credit.get_listing(session, actor, listing_id)
    if kind == "listing" and listing.listed_on is None:
        raise Conflict("该记录尚未作出列入经营异常名录的决定")
    if kind == "removal" and (
        listing.status != ListingStatus.REMOVED or listing.removed_on is None
    ):
        raise Conflict("该记录尚未作出移出经营异常名录的决定")
    day = listing.listed_on if kind == "listing" else listing.removed_on
    return {
        "listing": listing,
        "entity": listing.entity,
        "department": listing.department,
        "title": DOCUMENTS[kind],
        "kind": kind,
        "number": document_number(listing, kind),
        "listing_number": document_number(listing, "listing"),
        "finding": FINDINGS.get(listing.result_code, listing.ground),
        "date": chinese_date(day),
        "listed_date": chinese_date(listing.listed_on),
        "verified_date": chinese_date(listing.verified_on),
        "order_date": chinese_date(listing.order_deadline) if listing.order_deadline else None,
        "serious_years": credit.current().serious_years,
        "removal_reason": (listing.removal_reason or "").strip().rstrip("。；;.，,"),
    }
