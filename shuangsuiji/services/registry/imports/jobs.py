"""Import batches: the importable lists, upload, the batch's states and its changes.

Every function here flushes; the request edge, the CLI or the worker's task handler
(worker/imports.py) owns the transaction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Table, delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from .... import tabular
from ....columns import (
    CONFLICT_FIELDS,
    ENTITY_FIELDS,
    INSPECTOR_FIELDS,
    MATTER_FIELDS,
    REJECT_NOTE_HEADERS,
    RISK_CLASS_FIELDS,
    Field,
)
from ....db import (
    ConflictDeclaration,
    Entity,
    ImportJob,
    ImportReject,
    Inspector,
    Matter,
    User,
    stage_conflicts,
    stage_entities,
    stage_inspectors,
    stage_matters,
    stage_risk_classes,
)
from ....db.states import ImportStatus
from ....errors import Conflict, Invalid, NotFound, TooLarge
from ...pages import Keyset, Order, keyset
from ...platform import audit, tasks
from ...scope import reads_all, require_admin_of


@dataclasses.dataclass(frozen=True)
class Kind:
    """One importable list."""

    name: str
    label: str
    model: type
    stage: Table
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # natural key columns of the stored rows (within the department)
    updates_only: bool = False  # rows must match a stored row (never inserted), not a list


KINDS = {
    "entities": Kind("entities", "检查对象名录", Entity, stage_entities, ENTITY_FIELDS, ("uscc",)),
    "inspectors": Kind(
        "inspectors",
        "执法检查人员名录",
        Inspector,
        stage_inspectors,
        INSPECTOR_FIELDS,
        ("cert_no",),
    ),
    "matters": Kind("matters", "随机抽查事项清单", Matter, stage_matters, MATTER_FIELDS, ("code",)),
    "conflicts": Kind(
        "conflicts",
        "回避声明",
        ConflictDeclaration,
        stage_conflicts,
        CONFLICT_FIELDS,
        ("inspector_id", "entity_id"),
    ),
    "risk_classes": Kind(
        "risk_classes",
        "信用风险分类（月度）",
        Entity,
        stage_risk_classes,
        RISK_CLASS_FIELDS,
        ("uscc",),
        updates_only=True,
    ),
}
# The lists themselves (what can be searched and exported), without update-only imports.
LISTS = {name: kind for name, kind in KINDS.items() if not kind.updates_only}
STATUS_LABELS = {
    ImportStatus.VALIDATING: "校验中",
    ImportStatus.READY: "待确认",
    ImportStatus.APPLYING: "导入中",
    ImportStatus.DONE: "已完成",
    ImportStatus.FAILED: "失败",
    ImportStatus.CANCELLED: "已取消",
}


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise Invalid(f"名录类型无效：{name}", errors={"kind": ["名录类型无效"]}) from None


def limits_from(config: dict) -> tabular.Limits:
    return tabular.Limits(
        max_bytes=config["IMPORT_MAX_BYTES"],
        max_unpacked_bytes=config["IMPORT_MAX_UNPACKED_BYTES"],
        max_zip_entries=config["IMPORT_MAX_ZIP_ENTRIES"],
        max_rows=config["IMPORT_MAX_ROWS"],
        max_sheet_rows=config["IMPORT_MAX_SHEET_ROWS"],
        max_sheet_columns=config["IMPORT_MAX_SHEET_COLUMNS"],
        max_sheet_cells=config["IMPORT_MAX_SHEET_CELLS"],
    )


# --- upload -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Reading:
    """How the uploaded file is read: None (or "") lets the checker decide."""

    encoding: str | None = None  # the CSV encoding; None: BOM, then UTF-8, then GB18030
    sheet: str | None = None  # the Excel sheet; None: the first non-empty one


def create(
    session: Session,
    *,
    actor: User,
    department_id: int,
    kind: str,
    filename: str,
    source: BinaryIO,
    config: dict,
    reading: Reading = Reading(),
) -> ImportJob:
    """Store the uploaded file (checking its size while reading) and queue its validation."""
    require_admin_of(actor, department_id)
    spec = kind_of(kind)
    filename = Path(filename or "").name[:255]
    if not filename or source is None:
        raise Invalid("请选择要上传的文件")
    upload_dir = Path(config["UPLOAD_DIR"])
    upload_dir.mkdir(parents=True, exist_ok=True)
    target = upload_dir / f"{secrets.token_hex(16)}{Path(filename).suffix.lower()[:10]}"
    digest, size = hashlib.sha256(), 0
    try:
        with target.open("wb") as out:
            while chunk := source.read(1 << 20):
                size += len(chunk)
                if size > config["IMPORT_MAX_BYTES"]:
                    limit = _size_text(config["IMPORT_MAX_BYTES"])
                    raise TooLarge(
                        f"文件超过导入大小上限 {limit}，请拆分后分批导入",
                        errors={"file": [f"不能超过 {limit}"]},
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if size == 0:
        target.unlink(missing_ok=True)
        raise Invalid("上传的文件是空的")
    job = ImportJob(
        department_id=department_id,
        kind=spec.name,
        filename=filename,
        sha256=digest.hexdigest(),
        size=size,
        stored_path=str(target),
        encoding=reading.encoding or None,
        sheet=reading.sheet or None,
        status=ImportStatus.VALIDATING,
        created_by_id=actor.id,
    )
    session.add(job)
    session.flush()
    task = tasks.enqueue(
        session,
        kind="import.validate",
        params={"import_id": job.id},
        actor=actor,
        department_id=department_id,
    )
    job.task_id = task.id
    audit.record(
        session,
        actor=actor,
        action="import.upload",
        object_type="import",
        object_id=job.id,
        after={"kind": kind, "filename": filename, "sha256": job.sha256, "size": size},
        department_id=department_id,
    )
    return job


def _size_text(size: int) -> str:
    if size < 1 << 20:
        return f"{size:,} 字节"
    return f"{size / (1 << 20):,.1f}".removesuffix(".0") + " MB"


def get(session: Session, actor: User, import_id: int) -> ImportJob:
    job = session.get(ImportJob, import_id)
    if job is None or not (reads_all(actor) or job.department_id == actor.department_id):
        raise NotFound("导入批次不存在")
    return job


NEWEST_IMPORTS: Order = ((ImportJob.id, True),)


def page_visible(
    session: Session,
    actor: User,
    *,
    kind: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Keyset:
    """One page of the import batches the actor may see, newest first, after `cursor`."""
    query = select(ImportJob)
    if not reads_all(actor):
        query = query.where(ImportJob.department_id == actor.department_id)
    if kind:
        query = query.where(ImportJob.kind == kind)
    if status:
        query = query.where(ImportJob.status == status)
    return keyset(session, query, NEWEST_IMPORTS, cursor=cursor, limit=limit)


LEGACY_REJECT_HEADERS = ["行号", "列", "内容", "原因"]


def rejects_table(session: Session, job: ImportJob) -> tuple[list[str], Iterator[list]]:
    """The rejected rows as a table to fix and import again: per rejected row its number in
    the file, the columns at fault and the reasons (REJECT_NOTE_HEADERS), then the row's own
    cells under the file's own headers (the note columns of a rejects file imported again are
    not repeated). A batch checked before its cells were kept gives one line per problem:
    row, column, value, reason."""
    query = (
        select(ImportReject)
        .where(ImportReject.import_id == job.id)
        .order_by(ImportReject.row_no, ImportReject.id)
        .execution_options(yield_per=5000)
    )
    header_row = job.header_row
    if header_row is None:
        found = session.scalars(query)
        return LEGACY_REJECT_HEADERS, ([r.row_no, r.column, r.value, r.reason] for r in found)
    notes = {tabular.normalise_header(h) for h in REJECT_NOTE_HEADERS}
    keep = [i for i, h in enumerate(header_row) if tabular.normalise_header(h) not in notes]

    def rows() -> Iterator[list]:
        grouped = itertools.groupby(session.scalars(query), key=lambda r: r.row_no)
        for row_no, group in grouped:
            problems = list(group)
            cells = next((r.row_cells for r in problems if r.cells), None) or []
            beyond = cells[len(header_row) :]
            while beyond and not beyond[-1]:
                beyond.pop()
            yield [
                row_no,
                "、".join(dict.fromkeys(r.column for r in problems)),
                "；".join(f"{r.column}：{r.reason}" for r in problems),
                *(cells[i] if i < len(cells) else "" for i in keep),
                *beyond,
            ]

    return [*REJECT_NOTE_HEADERS, *(header_row[i] for i in keep)], rows()


def rejects(session: Session, job: ImportJob, *, limit: int | None = None) -> list[ImportReject]:
    query = (
        select(ImportReject)
        .where(ImportReject.import_id == job.id)
        .order_by(ImportReject.row_no, ImportReject.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


REJECT_ORDER: Order = ((ImportReject.row_no, False), (ImportReject.id, False))


def rejects_page(
    session: Session, job: ImportJob, *, cursor: str | None = None, limit: int = 50
) -> Keyset:
    """One page of the batch's rejected rows by row number, after `cursor`."""
    query = select(ImportReject).where(ImportReject.import_id == job.id)
    return keyset(session, query, REJECT_ORDER, cursor=cursor, limit=limit)


def _locked(session: Session, actor: User, import_id: int, *, busy: str | None = None):
    """The batch, its row locked until the transaction ends (a running apply holds it while it
    writes). With `busy`, a batch whose row another transaction holds is refused with that
    message at once instead of waited for."""
    job = get(session, actor, import_id)
    require_admin_of(actor, job.department_id)
    query = (
        select(ImportJob).where(ImportJob.id == job.id).execution_options(populate_existing=True)
    )
    if busy is None:
        return session.scalar(query.with_for_update())
    try:
        with session.begin_nested():
            return session.scalar(query.with_for_update(nowait=True))
    except OperationalError:
        raise Conflict(busy) from None


def confirm(session: Session, *, actor: User, import_id: int) -> ImportJob:
    job = _locked(session, actor, import_id)
    if job.status != ImportStatus.READY:
        raise Conflict(f"该批次当前状态为“{STATUS_LABELS[job.status]}”，不能确认导入")
    job.status = ImportStatus.APPLYING
    task = tasks.enqueue(
        session,
        kind="import.apply",
        params={"import_id": job.id},
        actor=actor,
        department_id=job.department_id,
    )
    job.task_id = task.id
    session.flush()
    return job


# A batch that is not final yet can be cancelled: waiting for its preview or checked in vain,
# and also one stuck while being checked or applied (its task then stops at its next look).
CANCELLABLE = (
    ImportStatus.READY,
    ImportStatus.FAILED,
    ImportStatus.VALIDATING,
    ImportStatus.APPLYING,
)


def cancel(session: Session, *, actor: User, import_id: int) -> ImportJob:
    job = _locked(
        session,
        actor,
        import_id,
        busy="该批次正在写入名录（事务进行中），不能取消；请等待写入完成",
    )
    if job.status not in CANCELLABLE:
        raise Conflict(f"该批次当前状态为“{STATUS_LABELS[job.status]}”，不能取消")
    before = job.status
    job.status = ImportStatus.CANCELLED
    if before in (ImportStatus.VALIDATING, ImportStatus.APPLYING):
        job.error = f"管理员在“{STATUS_LABELS[before]}”时取消了该批次"
    clear_stage(session, job)
    audit.record(
        session,
        actor=actor,
        action="import.cancel",
        object_type="import",
        object_id=job.id,
        before={"status": str(before)},
        after={"status": str(job.status)},
        department_id=job.department_id,
    )
    return job


def lock(session: Session, import_id: int) -> ImportJob | None:
    """The batch with its row locked (the task handlers: a cancel waits for them, or is
    refused while they write)."""
    return session.scalar(
        select(ImportJob)
        .where(ImportJob.id == import_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def fail_unfinished(session: Session, import_id: int, reason: str) -> bool:
    """A batch still being checked or applied fails with `reason`, its stage cleared (the
    failure path of its task: the task died or failed for good). A final batch is left as it
    is. True if it was failed here."""
    job = lock(session, import_id)
    if job is None or job.status not in (ImportStatus.VALIDATING, ImportStatus.APPLYING):
        return False
    clear_stage(session, job)
    job.status, job.error = ImportStatus.FAILED, reason[:500]
    session.flush()
    return True


def clear_stage(session: Session, job: ImportJob) -> None:
    stage = kind_of(job.kind).stage
    session.execute(delete(stage).where(stage.c.import_id == job.id))


def reject_file(session: Session, import_id: int, message: str, *, actor: User | None) -> dict:
    """The file cannot be imported (checking it failed): the batch fails with `message`,
    unless it was cancelled meanwhile."""
    job = lock(session, import_id)
    if job.status != ImportStatus.VALIDATING:
        return {"import_id": job.id, "status": str(job.status)}
    clear_stage(session, job)
    job.status, job.error = ImportStatus.FAILED, message
    audit.record(
        session,
        actor=actor,
        action="import.reject_file",
        object_type="import",
        object_id=job.id,
        after={"filename": job.filename, "sha256": job.sha256, "reason": message},
        department_id=job.department_id,
    )
    return {"import_id": job.id, "error": message}
