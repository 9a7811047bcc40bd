"""Inspection results (检查结果): entry, review, publication, attachments.

Who may do what, per visit (a drawn entity of a live draw):
- enter (save, attach, submit): the members of the entity's team, replacements applied
  (draws.teams), the administrators of the plan's department and the system administrator;
  in a joint plan (联合抽查) also the participating departments' administrators. Each
  department records its own matters and sees only its part (进一次门、查多项事: one record
  covers every department's matters); the lead department sees the whole record;
- review (approve, return, reject): the administrators of the plan's department and the system
  administrator, never the person who entered the record;
- read: the above and the auditor (纪检/审计).
Anyone else gets 403. Approval publishes (已公示): the record is stamped, the entity's
last-check date and check count follow, and the public site shows it. Every step is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from ...db import (
    Draw,
    Entity,
    InspectionAttachment,
    InspectionRecord,
    InspectionResult,
    Matter,
    Plan,
    User,
    utcnow,
)
from ...db.states import RecordStatus
from ...domain import result_codes as rc
from ...errors import Conflict, Forbidden, Invalid, NotFound
from ..pages import Keyset, keyset
from ..plans import draws, plans, tallies
from ..platform import audit
from ..scope import administers, is_dept_admin, is_sysadmin, reads_all
from . import credit, deadlines

STATUS_LABELS = {
    RecordStatus.DRAFT: "草稿",
    RecordStatus.SUBMITTED: "待审核",
    RecordStatus.RETURNED: "退回",
    RecordStatus.REJECTED: "不通过",
    RecordStatus.PUBLISHED: "已公示",
}
EDITABLE = (RecordStatus.DRAFT, RecordStatus.RETURNED, RecordStatus.REJECTED)
DECISIONS = {"approve": "通过并公示", "return": "退回补正", "reject": "不通过"}
ATTACHMENT_TYPES = {  # sniffed from the first bytes, never from the name or the browser
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}
EXTENSIONS = {"image/jpeg": (".jpg", ".jpeg"), "image/png": (".png",), "application/pdf": (".pdf",)}
MAX_ATTACHMENTS = 20
FIELD_LABELS = {
    "checked_on": "检查日期",
    "notes": "检查情况说明",
    "matters": "抽查事项",
    "file": "附件",
    "comment": "审核意见",
    "decision": "审核结论",
}
NOTES_MAX = 2000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Visit:
    """检查记录 with what the pages need: the draw, plan, team, matters and permissions."""

    draw: Draw
    plan: Plan
    row: draws.TeamRow
    record: InspectionRecord | None
    matters: list[Matter]
    results: dict[int, InspectionResult] = field(default_factory=dict)
    attachments: list[InspectionAttachment] = field(default_factory=list)
    can_enter: bool = False
    can_review: bool = False
    live: bool = True
    own_matter_ids: frozenset[int] = frozenset()  # the matters this user records

    @property
    def status(self) -> str:
        return self.record.status if self.record else RecordStatus.DRAFT

    @property
    def status_label(self) -> str:
        """未录入 until a record exists (a saved draft is 草稿)."""
        return STATUS_LABELS[self.record.status] if self.record else "未录入"

    @property
    def editable(self) -> bool:
        return self.can_enter and self.live and self.status in EDITABLE

    @property
    def window(self) -> tuple[dt.date | None, dt.date | None]:
        """The fieldwork window of the visit's task (a recurring batch: its period)."""
        return deadlines.window(self.plan, self.draw)

    @property
    def date_warning(self) -> str | None:
        """A check date outside the task's fieldwork window is kept, with this warning."""
        day = self.record.checked_on if self.record else None
        return outside_window(day, *self.window)

    def field_labels(self) -> dict[str, str]:
        """The Chinese name of each field an error may name (never an internal key)."""
        return {
            **FIELD_LABELS,
            **{f"matter_{m.id}": f"抽查事项“{m.name}”" for m in self.plan.matters},
        }


def outside_window(day: dt.date | None, start: dt.date | None, end: dt.date | None) -> str | None:
    """The warning for a check date outside the fieldwork window (None when inside)."""
    if day is None or (start is None or day >= start) and (end is None or day <= end):
        return None
    span = f"{start.isoformat() if start else '不限'} 至 {end.isoformat() if end else '不限'}"
    return f"检查日期 {day.isoformat()} 不在本任务的检查时间（{span}）内，请核对"


# -- permissions -------------------------------------------------------------------------------


def _on_team(actor: User, row: draws.TeamRow) -> bool:
    return any(m.inspector is not None and m.inspector.user_id == actor.id for m in row.members)


def _admin_of(actor: User, plan: Plan) -> bool:
    return administers(actor, plan.department_id)


def _own_matters(actor: User, plan: Plan) -> frozenset[int]:
    """The plan's matters the actor's department records (all of them for the sysadmin)."""
    return frozenset(
        m.id for m in plan.matters if is_sysadmin(actor) or m.department_id == actor.department_id
    )


def _load(
    session: Session, actor: User, draw_id: int, position: int, *, lock: bool = False
) -> Visit:
    """The visit with the actor's rights. `lock`: the record's row is locked for this
    transaction and read afresh (two reviewers approving at once publish once)."""
    # Scoped: another department's draw is 404 whatever the position (scope's promise).
    draw = draws.get(session, actor, draw_id)
    rows = (
        draws.teams(session, draw, offset=position, limit=1, viewer=actor) if position >= 0 else []
    )
    if not rows or rows[0].drawn.position != position:
        raise NotFound("抽中对象不存在")
    row = rows[0]
    plan = draw.plan
    participant_admin = is_dept_admin(actor) and plans.is_participant(actor, plan)
    can_enter = _admin_of(actor, plan) or participant_admin or _on_team(actor, row)
    can_review = _admin_of(actor, plan)
    if not (can_enter or reads_all(actor)):
        raise Forbidden("您不在该对象的检查组中，也不是本任务所属部门的管理员，无权查看或录入")
    query = select(InspectionRecord).where(
        InspectionRecord.draw_id == draw.id, InspectionRecord.position == position
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    record = session.scalar(query)
    visit = Visit(
        draw=draw,
        plan=plan,
        row=row,
        record=record,
        matters=[
            m
            for m in plan.matters
            if plans.sees_all_of(actor, plan) or m.department_id == actor.department_id
        ],
        can_enter=can_enter,
        can_review=can_review,
        live=draws.superseded_by(session, draw) is None,
        own_matter_ids=_own_matters(actor, plan) if can_enter else frozenset(),
    )
    if record is not None:
        visit.results = {
            r.matter_id: r
            for r in session.scalars(
                select(InspectionResult).where(InspectionResult.record_id == record.id)
            )
        }
        visit.attachments = list(
            session.scalars(
                select(InspectionAttachment)
                .where(InspectionAttachment.record_id == record.id)
                .order_by(InspectionAttachment.id)
            )
        )
    return visit


def get_visit(session: Session, actor: User, draw_id: int, position: int) -> Visit:
    """A visit the actor may read (403 otherwise; 404 when there is no such drawn entity)."""
    return _load(session, actor, draw_id, position)


def _editable_visit(session: Session, actor: User, draw_id: int, position: int) -> Visit:
    visit = _load(session, actor, draw_id, position, lock=True)
    if not visit.can_enter:
        raise Forbidden("只有检查组成员或本任务所属部门的管理员可以录入检查结果")
    if not visit.live:
        raise Conflict("该抽取结果已被重新抽取取代，不能录入检查结果")
    if visit.status not in EDITABLE:
        raise Conflict(f"检查记录为“{STATUS_LABELS[visit.status]}”状态，不能修改")
    if not visit.matters:
        raise Conflict("该抽查任务未列出抽查事项，无法录入检查结果")
    return visit


def _ensure_record(session: Session, actor: User, visit: Visit) -> InspectionRecord:
    if visit.record is None:
        visit.record = InspectionRecord(
            draw_id=visit.draw.id,
            position=visit.row.drawn.position,
            plan_id=visit.plan.id,
            department_id=visit.plan.department_id,
            entity_id=visit.row.entity.id,
            uscc=visit.row.drawn.uscc,
            status=RecordStatus.DRAFT,
            entered_by_id=actor.id,
        )
        session.add(visit.record)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError as exc:  # (draw, position) is unique: someone else was first
            raise Conflict("另一位检查人员刚刚开始录入该对象的结果，请刷新页面后重试") from exc
    return visit.record


# -- entry -------------------------------------------------------------------------------------


def _text(value, limit: int, name: str, errors: dict) -> str | None:
    text = str(value or "").strip()
    if len(text) > limit:
        errors.setdefault(name, []).append(f"不能超过 {limit} 个字")
    return text or None


def _codes_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"[,，\s]+", value)
    return [str(v).strip() for v in value if str(v).strip()]


def _parse_date(value, errors: dict, today: dt.date, drawn_on: dt.date) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors.setdefault("checked_on", []).append("日期格式应为 YYYY-MM-DD")
        return None
    if day > today:
        errors.setdefault("checked_on", []).append("检查日期不能晚于今天")
    elif day < drawn_on:
        errors.setdefault("checked_on", []).append("检查日期不能早于抽取日期")
    return day


def _parse_matter(entry: dict, name: str, errors: dict) -> dict | None:
    """One matter's result, or None when the entry is blank (not yet entered)."""
    codes = _codes_list(entry.get("codes"))
    methods = _codes_list(entry.get("methods"))
    measures = _codes_list(entry.get("measures"))
    notes = _text(entry.get("notes"), NOTES_MAX, name, errors)
    other = _text(entry.get("measure_other"), 200, name, errors)
    if not (codes or methods or measures or notes or other):
        return None
    normalised, problems = rc.check_codes(codes)
    unknown = [m for m in methods if m not in rc.CHECK_METHODS]
    if unknown:
        problems.append(f"未知的检查方式：{'、'.join(unknown)}")
    if not methods:
        problems.append("请至少选择一种检查方式")
    problems += rc.check_measures(measures, normalised)
    if "other" in measures and not other:
        problems.append("选择“其他”处置措施时须说明具体措施")
    if problems:
        errors.setdefault(name, []).extend(problems)
        return None
    closed = entry.get("closed") in (True, "on", "1", "true", 1) or measures == ["none"]
    return {
        "codes": ",".join(normalised),
        "methods": ",".join(m for m in rc.CHECK_METHODS if m in methods),
        "measures": ",".join(m for m in rc.MEASURES if m in measures),
        "measure_other": other if "other" in measures else None,
        "follow_up_closed": closed,
        "notes": notes,
    }


def snapshot(record: InspectionRecord, results: list[InspectionResult]) -> dict:
    """The audit trail's view of a record and its results."""
    return {
        "status": record.status,
        "checked_on": record.checked_on.isoformat() if record.checked_on else None,
        "notes": record.notes,
        "results": {
            str(r.matter_id): {
                "codes": r.codes,
                "methods": r.methods,
                "measures": r.measures,
                "measure_other": r.measure_other,
                "follow_up_closed": r.follow_up_closed,
                "notes": r.notes,
            }
            for r in sorted(results, key=lambda r: r.matter_id)
        },
    }


def save(
    session: Session,
    *,
    actor: User,
    draw_id: int,
    position: int,
    raw: dict,
    today: dt.date,
) -> InspectionRecord:
    """Store the entered results (a draft until submitted). A blank matter is left unentered;
    a matter given is checked in full. Every rule broken is named, per field."""
    visit = _editable_visit(session, actor, draw_id, position)
    errors: dict[str, list[str]] = {}
    drawn_on = visit.draw.created_at.astimezone(dt.UTC).date()
    checked_on = _parse_date(raw.get("checked_on"), errors, today, drawn_on)
    notes = _text(raw.get("notes"), NOTES_MAX, "notes", errors)
    given = raw.get("matters") or {}
    known = {m.id: m for m in visit.plan.matters}
    parsed: dict[int, dict | None] = {}
    for key, entry in given.items():
        try:
            matter_id = int(key)
        except (TypeError, ValueError):
            matter_id = None
        if matter_id not in known:
            errors.setdefault("matters", []).append(f"抽查事项 {key} 不属于本任务")
            continue
        if matter_id not in visit.own_matter_ids:
            errors.setdefault("matters", []).append(
                f"抽查事项“{known[matter_id].name}”由其所属部门录入"
            )
            continue
        parsed[matter_id] = _parse_matter(entry or {}, f"matter_{matter_id}", errors)
    if errors:
        raise Invalid("检查结果有误，请按提示修改", errors=errors)
    record = _ensure_record(session, actor, visit)
    before = snapshot(record, list(visit.results.values()))
    record.checked_on = checked_on
    record.notes = notes
    for matter_id, values in parsed.items():
        existing = visit.results.get(matter_id)
        if values is None:
            if existing is not None:
                session.delete(existing)
                del visit.results[matter_id]
            continue
        if existing is None:
            existing = InspectionResult(record_id=record.id, matter_id=matter_id, **values)
            session.add(existing)
            visit.results[matter_id] = existing
        else:
            for name, value in values.items():
                setattr(existing, name, value)
    session.flush()
    after = snapshot(record, list(visit.results.values()))
    if after != before:
        audit.record(
            session,
            actor=actor,
            action="results.save",
            object_type="inspection_record",
            object_id=record.id,
            before=before,
            after=after,
            department_id=record.department_id,
        )
    return record


def submit(session: Session, *, actor: User, draw_id: int, position: int) -> InspectionRecord:
    """Hand the record to review (待审核): every matter entered and the check date given."""
    visit = _editable_visit(session, actor, draw_id, position)
    errors: dict[str, list[str]] = {}
    record = visit.record
    if record is None or record.checked_on is None:
        errors["checked_on"] = ["请填写检查日期"]
    for matter in visit.plan.matters:  # every department's matters, seen or not
        if matter.id not in visit.results:
            errors[f"matter_{matter.id}"] = [f"请录入“{matter.name}”的检查结果"]
    if errors:
        raise Invalid("检查结果尚未录入完整，不能提交审核", errors=errors)
    before = record.status
    record.status = RecordStatus.SUBMITTED
    record.submitted_at = utcnow()
    record.entered_by_id = actor.id
    session.flush()
    tallies.record_changed(session, record, before)
    audit.record(
        session,
        actor=actor,
        action="results.submit",
        object_type="inspection_record",
        object_id=record.id,
        before={"status": before},
        after=snapshot(record, list(visit.results.values())),
        department_id=record.department_id,
    )
    return record


# -- review and publication --------------------------------------------------------------------


def review(
    session: Session,
    *,
    actor: User,
    draw_id: int,
    position: int,
    decision: str,
    comment: str,
) -> InspectionRecord:
    """Approve (publish), return for correction, or reject a submitted record."""
    visit = _load(session, actor, draw_id, position, lock=True)
    if not visit.can_review:
        raise Forbidden("只有本任务所属部门的管理员可以审核检查结果")
    record = visit.record
    if record is None or record.status != RecordStatus.SUBMITTED:
        raise Conflict(f"检查记录为“{visit.status_label}”状态，不是待审核状态")
    if record.entered_by_id == actor.id:
        raise Forbidden("不能审核自己提交的检查结果")
    if decision not in DECISIONS:
        raise Invalid("审核意见无效", errors={"decision": ["请选择通过、退回或不通过"]})
    errors: dict[str, list[str]] = {}
    comment_text = _text(comment, NOTES_MAX, "comment", errors)
    if decision != "approve" and not comment_text:
        errors.setdefault("comment", []).append("退回或不通过时须填写审核意见")
    if errors:
        raise Invalid("审核意见有误", errors=errors)
    now = utcnow()
    record.reviewed_by_id = actor.id
    record.reviewed_at = now
    record.review_comment = comment_text
    if decision == "approve":
        _publish(session, actor, visit, now)
        return record
    record.status = RecordStatus.RETURNED if decision == "return" else RecordStatus.REJECTED
    session.flush()
    tallies.record_changed(session, record, RecordStatus.SUBMITTED)
    audit.record(
        session,
        actor=actor,
        action=f"results.{decision}",
        object_type="inspection_record",
        object_id=record.id,
        before={"status": RecordStatus.SUBMITTED},
        after={"status": record.status, "comment": comment_text},
        department_id=record.department_id,
    )
    return record


def _publish(session: Session, actor: User, visit: Visit, now: dt.datetime) -> None:
    """已公示: stamp the record, move the entity's last-check date and count, audit it."""
    record = visit.record
    record.status = RecordStatus.PUBLISHED
    record.published_at = now
    entity = session.get(Entity, record.entity_id)
    entity_before = {
        "last_checked_on": entity.last_checked_on.isoformat() if entity.last_checked_on else None,
        "check_count": entity.check_count,
    }
    if entity.last_checked_on is None or record.checked_on > entity.last_checked_on:
        entity.last_checked_on = record.checked_on
    entity.check_count = (entity.check_count or 0) + 1
    session.flush()
    tallies.record_changed(session, record, RecordStatus.SUBMITTED)
    audit.record(
        session,
        actor=actor,
        action="results.publish",
        object_type="inspection_record",
        object_id=record.id,
        before={"status": RecordStatus.SUBMITTED, "entity": entity_before},
        after={
            "status": RecordStatus.PUBLISHED,
            "published_at": now.isoformat(),
            "comment": record.review_comment,
            "uscc": record.uscc,
            "entity": {
                "id": entity.id,
                "last_checked_on": entity.last_checked_on.isoformat(),
                "check_count": entity.check_count,
            },
            "results": snapshot(record, list(visit.results.values()))["results"],
        },
        department_id=record.department_id,
    )
    # The credit record (信用) follows in the same transaction: events and listing candidates.
    credit.on_result_published(
        session,
        actor=actor,
        entity_id=record.entity_id,
        department_id=record.department_id,
        inspection_ref=f"inspection:{record.id}",
        codes=sorted({c for r in visit.results.values() for c in r.codes.split(",") if c}),
        checked_on=record.checked_on,
        published_at=now,
    )


# -- attachments -------------------------------------------------------------------------------


def sniff(data: bytes) -> str | None:
    """The attachment's type from its first bytes (JPEG, PNG, PDF), or None."""
    for content_type, magics in ATTACHMENT_TYPES.items():
        if any(data.startswith(m) for m in magics):
            return content_type
    return None


def clean_filename(name: str, content_type: str) -> str:
    """The uploaded name without its path and control characters, ending in the extension of
    the sniffed type: `report.html` holding a PDF is kept as `report.pdf` (a browser or a
    desktop opening the download by its name never treats it as a page)."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", name).strip()
    extensions = EXTENSIONS[content_type]
    if not name.lower().endswith(extensions):
        stem, dot, _ = name.rpartition(".")
        name = ((stem if dot else name) or "附件") + extensions[0]
    return name[-200:]


def add_attachment(
    session: Session,
    *,
    actor: User,
    draw_id: int,
    position: int,
    filename: str,
    data: bytes,
    max_bytes: int,
) -> InspectionAttachment:
    """Store a photo or document of the visit (type sniffed, size checked, SHA-256 kept).
    `data` may be one byte longer than `max_bytes`: the caller stops reading there."""
    visit = _editable_visit(session, actor, draw_id, position)
    if not data:
        raise Invalid("附件为空", errors={"file": ["请选择要上传的文件"]})
    if len(data) > max_bytes:
        limit = f"{max_bytes / 1024 / 1024:.0f} MB" if max_bytes >= 1 << 20 else f"{max_bytes} 字节"
        raise Invalid(f"附件过大：不能超过 {limit}", errors={"file": [f"文件超过 {limit}"]})
    content_type = sniff(data)
    if content_type is None:
        raise Invalid(
            "附件类型不支持：只接受 JPEG、PNG 图片或 PDF 文件（按文件内容判断）",
            errors={"file": ["只接受 JPEG、PNG 或 PDF"]},
        )
    if len(visit.attachments) >= MAX_ATTACHMENTS:
        raise Invalid(f"每条检查记录最多 {MAX_ATTACHMENTS} 个附件")
    record = _ensure_record(session, actor, visit)
    attachment = InspectionAttachment(
        record_id=record.id,
        filename=clean_filename(filename, content_type),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by_id=actor.id,
    )
    session.add(attachment)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="results.attach",
        object_type="inspection_record",
        object_id=record.id,
        after={
            "attachment_id": attachment.id,
            "filename": attachment.filename,
            "content_type": content_type,
            "size": attachment.size,
            "sha256": attachment.sha256,
        },
        department_id=record.department_id,
    )
    return attachment


def delete_attachment(
    session: Session, *, actor: User, draw_id: int, position: int, attachment_id: int
) -> None:
    """Remove an attachment while the record may still be edited (recorded with its hash)."""
    visit = _editable_visit(session, actor, draw_id, position)
    attachment = next((a for a in visit.attachments if a.id == attachment_id), None)
    if attachment is None:
        raise NotFound("附件不存在")
    gone = {
        "attachment_id": attachment.id,
        "filename": attachment.filename,
        "size": attachment.size,
        "sha256": attachment.sha256,
    }
    session.delete(attachment)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="results.detach",
        object_type="inspection_record",
        object_id=visit.record.id,
        before=gone,
        department_id=visit.record.department_id,
    )


def attachment(session: Session, actor: User, attachment_id: int) -> InspectionAttachment:
    """An attachment for download: only those who may read its visit (never the public)."""
    found = session.get(InspectionAttachment, attachment_id)
    if found is None:
        raise NotFound("附件不存在")
    record = session.get(InspectionRecord, found.record_id)
    _load(session, actor, record.draw_id, record.position)  # 403 for anyone else
    return found


# -- lists -------------------------------------------------------------------------------------


def review_queue(actor: User, *, status: str | None = None) -> Select:
    """Records the actor may review or read, newest submission first, with plan and entity."""
    query = (
        select(InspectionRecord)
        .options(joinedload(InspectionRecord.plan), joinedload(InspectionRecord.entity))
        .order_by(InspectionRecord.submitted_at.desc(), InspectionRecord.id.desc())
    )
    if not reads_all(actor):
        query = query.where(InspectionRecord.department_id == actor.department_id)
    if status:
        query = query.where(InspectionRecord.status == status)
    return query


# Submitted records by their submission, newest first; drafts (never submitted) by id.
BY_SUBMISSION = ((InspectionRecord.submitted_at, True), (InspectionRecord.id, True))
NEWEST_RECORDS = ((InspectionRecord.id, True),)


def review_page(
    session: Session, actor: User, *, status: str | None, cursor: str | None, limit: int
) -> Keyset:
    """One page of review_queue after `cursor`: a submitted status by submission time, all
    records or drafts by id (a draft has no submission time); never OFFSET, never a count."""
    query = review_queue(actor, status=status)
    if status and status != RecordStatus.DRAFT:
        # Every record past the draft was submitted (submit() sets the time, nothing clears it).
        query = query.where(InspectionRecord.submitted_at.is_not(None))
        return keyset(session, query, BY_SUBMISSION, cursor=cursor, limit=limit)
    return keyset(session, query, NEWEST_RECORDS, cursor=cursor, limit=limit)
