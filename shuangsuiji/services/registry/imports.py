"""Imports of the registry lists: upload → validate (background) → preview → apply (background).

Every data row of a file ends as exactly one of inserted, updated, unchanged or rejected, and
the four counts add up to the rows read (blank rows are counted apart). Valid rows are staged
in a staging table; applying them is one transaction, so a failed or interrupted import leaves
the registry exactly as it was. Rejected rows are stored with row number, column and reason.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import functools
import gc
import hashlib
import itertools
import json
import logging
import multiprocessing
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from queue import Full, Queue
from typing import BinaryIO

from sqlalchemy import (
    Column,
    Table,
    UniqueConstraint,
    and_,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from ... import tabular
from ...columns import (
    CONFLICT_FIELDS,
    ENTITY_FIELDS,
    INSPECTOR_FIELDS,
    MATTER_FIELDS,
    RISK_CLASS_FIELDS,
    CellError,
    Field,
)
from ...db import (
    ConflictDeclaration,
    Database,
    Entity,
    ImportJob,
    ImportReject,
    Inspector,
    Matter,
    User,
    make_engine,
    stage_conflicts,
    stage_entities,
    stage_inspectors,
    stage_matters,
    stage_risk_classes,
    utcnow,
)
from ...errors import Conflict, Invalid, NotFound
from ..platform import audit, tasks
from ..scope import reads_all, require_admin_of

NO_HEADER = "（无表头的列）"
log = logging.getLogger(__name__)


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
    "validating": "校验中",
    "ready": "待确认",
    "applying": "导入中",
    "done": "已完成",
    "failed": "失败",
    "cancelled": "已取消",
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
    )


# --- upload -----------------------------------------------------------------------------------


def create(
    session: Session,
    *,
    actor: User,
    department_id: int,
    kind: str,
    filename: str,
    source: BinaryIO,
    config: dict,
    encoding: str | None = None,
    sheet: str | None = None,
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
                    raise Invalid(
                        f"文件超过大小上限 {config['IMPORT_MAX_BYTES'] // (1 << 20)} MB，"
                        "请拆分后分批导入"
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
        encoding=encoding or None,
        sheet=sheet or None,
        status="validating",
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


def get(session: Session, actor: User, import_id: int) -> ImportJob:
    job = session.get(ImportJob, import_id)
    if job is None or not (reads_all(actor) or job.department_id == actor.department_id):
        raise NotFound("导入批次不存在")
    return job


def list_visible(session: Session, actor: User, *, kind: str | None = None, limit: int = 50):
    query = select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)
    if not reads_all(actor):
        query = query.where(ImportJob.department_id == actor.department_id)
    if kind:
        query = query.where(ImportJob.kind == kind)
    return list(session.scalars(query))


def rejects(session: Session, job: ImportJob, *, limit: int | None = None) -> list[ImportReject]:
    query = (
        select(ImportReject)
        .where(ImportReject.import_id == job.id)
        .order_by(ImportReject.row_no, ImportReject.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def confirm(session: Session, *, actor: User, import_id: int) -> ImportJob:
    job = get(session, actor, import_id)
    require_admin_of(actor, job.department_id)
    if job.status != "ready":
        raise Conflict(f"该批次当前状态为“{STATUS_LABELS[job.status]}”，不能确认导入")
    job.status = "applying"
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


def cancel(session: Session, *, actor: User, import_id: int) -> ImportJob:
    job = get(session, actor, import_id)
    require_admin_of(actor, job.department_id)
    if job.status not in ("ready", "failed"):
        raise Conflict(f"该批次当前状态为“{STATUS_LABELS[job.status]}”，不能取消")
    job.status = "cancelled"
    _clear_stage(session, job)
    audit.record(
        session,
        actor=actor,
        action="import.cancel",
        object_type="import",
        object_id=job.id,
        department_id=job.department_id,
    )
    return job


# --- validation (background) ------------------------------------------------------------------


def _clear_stage(session: Session, job: ImportJob) -> None:
    stage = kind_of(job.kind).stage
    session.execute(delete(stage).where(stage.c.import_id == job.id))


class _Context:
    """Look-ups a row check needs beyond its own cells, loaded once per import."""

    def __init__(self, session: Session, kind: str, department_id: int):
        self.kind = kind
        self.department_id = department_id
        if kind == "inspectors":
            self.cert_departments = dict(
                session.execute(select(Inspector.cert_no, Inspector.department_id)).all()
            )
        if kind == "risk_classes":
            self.months = dict(
                session.execute(
                    select(Entity.uscc, Entity.risk_class_month).where(
                        Entity.department_id == department_id
                    )
                ).all()
            )
        if kind == "conflicts":
            self.inspectors = dict(
                session.execute(
                    select(Inspector.cert_no, Inspector.id).where(
                        Inspector.department_id == department_id
                    )
                ).all()
            )
            self.entities = dict(
                session.execute(
                    select(Entity.uscc, Entity.id).where(Entity.department_id == department_id)
                ).all()
            )

    def check(self, columns: dict[str, list], problems: dict[int, list]) -> None:
        """Cross-row/database problems of the rows without problems so far, added to
        `problems` as (column label, value, reason); conflicts gain their two ids."""
        if self.kind == "inspectors":
            for i, cert_no in enumerate(columns["cert_no"]):
                owner = self.cert_departments.get(cert_no)
                if owner is not None and owner != self.department_id and i not in problems:
                    problems[i] = [("执法证号", cert_no, "该执法证号已登记在其他部门的人员名录中")]
        if self.kind == "risk_classes":
            found = zip(columns["uscc"], columns["risk_class_month"], strict=True)
            for i, (code, month) in enumerate(found):
                if i in problems:
                    continue
                if code not in self.months:
                    problems[i] = [("统一社会信用代码", code, "本部门检查对象名录中没有该主体")]
                elif (self.months[code] or "") > month:
                    reason = f"早于名录中已有的分类月份 {self.months[code]}，不能以旧覆盖新"
                    problems[i] = [("分类月份", month, reason)]
        if self.kind == "conflicts":
            columns["inspector_id"] = list(map(self.inspectors.get, columns["cert_no"]))
            columns["entity_id"] = list(map(self.entities.get, columns["uscc"]))
            found = zip(columns["inspector_id"], columns["entity_id"], strict=True)
            for i, (inspector_id, entity_id) in enumerate(found):
                if (inspector_id is None or entity_id is None) and i not in problems:
                    row = problems[i] = []
                    if inspector_id is None:
                        cert_no = columns["cert_no"][i]
                        row.append(("执法证号", cert_no, "本部门人员名录中没有该执法证号"))
                    if entity_id is None:
                        uscc = columns["uscc"][i]
                        row.append(("统一社会信用代码", uscc, "本部门检查对象名录中没有该主体"))


@dataclasses.dataclass
class _Batch:
    """A batch of checked rows: the valid ones column by column (stage column name → values)
    and the problems of the others."""

    columns: dict[str, list]
    size: int  # valid rows
    rejects: list  # (row, column, value, reason)
    read: int
    rejected: int
    copy: str | None = None  # the valid rows in COPY's text format (PostgreSQL)


class _Column:
    """Parses one field of a file, a batch of cells at a time.

    A parser's batch fast path (`parse.many`, see columns) is tried first. Otherwise parsers
    are pure, so a cell seen before is not parsed again: most columns of a registry (type,
    region, industry, authority, status, dates) repeat a few hundred values, nearly all of them
    stored as they are written. A column of unique values is parsed straight, without
    remembering.
    """

    MEMO_LIMIT = 20_000  # distinct cells remembered

    def __init__(self, parse):
        self.parse = parse
        self.many = getattr(parse, "many", None)
        self.memo: dict = {}
        self.refused: set = set()  # remembered cells that the parser refused
        self.kept: set = set()  # remembered cells stored as they are
        self.unique = False

    def __call__(self, cells: tuple[str, ...]) -> tuple[list, dict[int, str]]:
        """The values, and {row index: reason} for the cells refused (their value None)."""
        if self.many is not None:
            values = self.many(cells)
            if values is not None:
                return values, {}
        if self.unique:
            try:
                return list(map(self.parse, cells)), {}
            except CellError:
                pass  # some cell is refused: find which, below
        memo, refused, kept = self.memo, self.refused, self.kept
        distinct = set(cells)
        for raw in distinct.difference(memo):
            try:
                value = memo[raw] = self.parse(raw)
                if type(value) is str and value == raw:
                    kept.add(raw)
            except CellError as exc:
                memo[raw] = str(exc)  # the reason, not the exception (and its traceback)
                refused.add(raw)
        if distinct <= kept:
            values, errors = list(cells), {}
        else:
            values = list(map(memo.__getitem__, cells))
            errors = {}
            if not refused.isdisjoint(distinct):
                for i, raw in enumerate(cells):
                    if raw in refused:
                        errors[i], values[i] = values[i], None
        if len(memo) > self.MEMO_LIMIT:
            self.unique = len(distinct) > len(cells) // 2
            memo.clear()
            refused.clear()
            kept.clear()
        return values, errors


class _Checker:
    """Checks the rows of a file a batch at a time (`checker(row_nos, cells)` → _Batch).

    The hot path of an import (millions of rows): each field is parsed a column at a time.
    A row's problems keep the order of its fields, then cells beyond the header, then the
    cross-row checks. Duplicates within the file are looked for among the staged rows once
    every batch is in (_reject_duplicates), so batches are independent of each other and can
    be checked in several processes at once.
    """

    def __init__(self, spec: Kind, index: dict[str, int], width: int, context: _Context):
        self.fields = [
            (f.name, _Column(f.parse), index[f.name], f.required, f.label)
            for f in spec.fields
            if f.name in index
        ]
        self.width = width  # the header's
        self.context = context

    def __call__(self, row_nos: list[int], cells: list[list[str]]) -> _Batch:
        problems: dict[int, list] = {}
        columns: dict[str, list] = {"row_no": row_nos}
        # Rows have at least the header's width (tabular pads them); extra cells are looked at
        # only where there are any.
        raw_columns = list(zip(*cells, strict=False))
        for name, parse, index, required, label in self.fields:
            raw = raw_columns[index]
            values, errors = parse(raw)
            for i, reason in errors.items():
                problems.setdefault(i, []).append((label, raw[i], reason))
            if required and None in values:
                for i, value in enumerate(values):
                    if value is None and i not in errors:
                        problems.setdefault(i, []).append((label, raw[i], "不能为空"))
            columns[name] = values
        if max(map(len, cells)) > self.width:
            for i, row in enumerate(cells):
                extra = next((c for c in row[self.width :] if c), None)
                if extra is not None:
                    problems.setdefault(i, []).append(
                        (NO_HEADER, extra, "该行有超出表头范围的内容，请检查是否错列")
                    )
        self.context.check(columns, problems)
        rejects = [
            (row_nos[i], col, value, why)
            for i in sorted(problems)
            for col, value, why in problems[i]
        ]
        if problems:
            keep = [i for i in range(len(row_nos)) if i not in problems]
            columns = {name: [values[i] for i in keep] for name, values in columns.items()}
        size = len(row_nos) - len(problems)
        return _Batch(columns, size, rejects, len(row_nos), len(problems))


def _raw_batches(table: tabular.Table, size: int) -> Iterator[tuple[list[int], list[list]]]:
    """The table's rows, `size` at a time: (row numbers, rows of cells)."""
    rows = iter(table.rows)
    while batch := list(itertools.islice(rows, size)):
        yield [row_no for row_no, _ in batch], [cells for _, cells in batch]


def _reject_duplicates(session: Session, spec: Kind, import_id: int) -> int:
    """Reject each staged row whose file key an earlier staged row of the import has, and
    return how many. Only rows without other problems are staged: the first valid row of a
    key stays, and a row refused for another reason does not make a later one a duplicate."""
    stage = spec.stage
    keys = [stage.c[k] for k in _file_key(spec)]
    mine = stage.c.import_id == import_id
    first = (
        select(*keys, func.min(stage.c.row_no).label("first_row"))
        .where(mine)
        .group_by(*keys)
        .having(func.count() > 1)
        .subquery()
    )
    if session.scalar(select(exists(first.select()))) is not True:
        return 0  # the usual case, told by one aggregate
    later = (
        select(stage.c.row_no, *keys, first.c.first_row)
        .join_from(stage, first, and_(*[k == first.c[k.name] for k in keys]))
        .where(mine, stage.c.row_no > first.c.first_row)
    )
    found = session.execute(later.order_by(stage.c.row_no)).all()
    label = "执法证号+信用代码" if spec.name == "conflicts" else spec.fields[0].label
    _write_rejects(
        session,
        import_id,
        [
            (row_no, label, " / ".join(map(str, key)), f"与文件第 {first_row} 行重复")
            for row_no, *key, first_row in found
        ],
    )
    earlier = stage.alias("earlier")
    session.execute(
        delete(stage).where(
            mine,
            exists().where(
                earlier.c.import_id == import_id,
                *[earlier.c[k.name] == k for k in keys],
                earlier.c.row_no < stage.c.row_no,
            ),
        )
    )
    return len(found)


def _file_key(spec: Kind) -> tuple[str, ...]:
    return ("cert_no", "uscc") if spec.name == "conflicts" else spec.key


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def _copy_column(kind: type, values: list) -> list[str]:
    """One column of `kind` values in COPY's text format: \\N for NULL, backslash escapes."""
    if kind is str:
        texts = values
        if _COPY_SPECIAL.search("".join(filter(None, values))):
            texts = [
                v.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
                if v
                else v
                for v in values
            ]
    else:  # dates, booleans, integers
        render = dt.date.isoformat if kind is dt.date else _BOOL_TEXT.get if kind is bool else str
        if None not in values:
            return list(map(render, values))
        texts = [render(v) if v is not None else None for v in values]
    if None not in texts:
        return texts
    return ["\\N" if v is None else v for v in texts]


_BOOL_TEXT = {True: "t", False: "f"}


def _stage_columns(spec: Kind, job_id: int, batch: _Batch) -> tuple[list[Column], list[list]]:
    """The stage columns this batch fills (the others stay NULL), and their values."""
    values = {**batch.columns, "import_id": [job_id] * batch.size}
    columns = [c for c in spec.stage.columns if c.name in values]
    return columns, [values[c.name] for c in columns]


def _copy_text(spec: Kind, job_id: int, batch: _Batch) -> _Batch:
    columns, values = _stage_columns(spec, job_id, batch)
    texts = map(_copy_column, [c.type.python_type for c in columns], values)
    batch.copy = "\n".join(map("\t".join, zip(*texts, strict=True))) + "\n"
    return batch


def _write_stage(session: Session, spec: Kind, job_id: int, batch: _Batch) -> None:
    if not batch.size:
        return
    columns, values = _stage_columns(spec, job_id, batch)
    names = [c.name for c in columns]
    if session.get_bind().dialect.name == "postgresql":
        if batch.copy is None:
            _copy_text(spec, job_id, batch)
        cursor = session.connection().connection.driver_connection.cursor()
        with cursor.copy(f"COPY {spec.stage.name} ({', '.join(names)}) FROM STDIN") as copy:
            copy.write(batch.copy)
        return
    rows = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
    session.execute(spec.stage.insert(), rows)


def _ahead(items: Iterator, prepare: Callable, depth: int = 2) -> Iterator:
    """`map(prepare, items)`, computed in a thread up to `depth` items ahead of the consumer.

    Validation checks the next batches while PostgreSQL stages this one (the driver releases
    the GIL while it waits): the two cores work at once. Exceptions reach the consumer; when
    the consumer stops early, the thread stops after the item it is on.
    """
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple) -> None:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.1)
                return
            except Full:
                continue

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                put(("item", prepare(item)))
            put(("done", None))
        except BaseException as exc:  # handed to the consumer, which raises it
            put(("error", exc))

    thread = threading.Thread(target=produce, name="import-check", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join()


def _write_rejects(session: Session, job_id: int, items: list) -> None:
    if items:
        session.execute(
            ImportReject.__table__.insert(),
            [
                {
                    "import_id": job_id,
                    "row_no": row,
                    "column": col[:100],
                    "value": (str(value) if value is not None else "")[:300],
                    "reason": reason[:300],
                }
                for row, col, value, reason in items
            ],
        )


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: validation allocates millions of short-lived lists
    and tuples (freed by reference counting), and the collections they trigger cost about a
    fifth of its time. The loop makes no reference cycles worth collecting meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@tasks.handler("import.validate", "校验导入文件")
def validate(ctx: tasks.TaskContext) -> dict:
    import_id = ctx.params["import_id"]
    batch_size = ctx.config["IMPORT_BATCH_ROWS"]
    started = time.perf_counter()
    with ctx.db.transaction() as session:
        job = session.get(ImportJob, import_id)
        _clear_stage(session, job)
        session.execute(delete(ImportReject).where(ImportReject.import_id == job.id))
        spec = kind_of(job.kind)
        department_id, size = job.department_id, job.size
        path, filename = Path(job.stored_path), job.filename
        encoding, sheet = job.encoding, job.sheet
    try:
        table = tabular.open_table(
            path,
            filename=filename,
            encoding=encoding,
            sheet=sheet,
            limits=limits_from(ctx.config),
        )
    except Invalid as exc:
        return _fail(ctx, import_id, exc.message)
    counters = {"read": 0, "rejected": 0}
    try:
        mapping = tabular.map_headers(table.headers, [f.column() for f in spec.fields])
        if mapping.missing:
            raise Invalid("缺少必填列：" + "、".join(mapping.missing))
        job_info = (spec, import_id, department_id, mapping.index, len(table.headers))
        raw = _raw_batches(table, batch_size)

        def count(read: int, rejected: int) -> None:
            counters["read"] += read
            counters["rejected"] += rejected
            ctx.progress(counters["read"], 0, f"已校验 {counters['read']:,} 行")

        with _no_cyclic_gc():
            if _in_processes(ctx, size):
                _stage_in_processes(ctx, job_info, raw, count)
            else:
                _stage_here(ctx, job_info, raw, count)
    except Invalid as exc:  # FileRejected included: a bad record, too many rows
        return _fail(ctx, import_id, exc.message)
    except tasks.Interrupted:
        raise  # handed back: validated again from the start
    except Exception:
        # A database error, a checking process that died: the batch must not stay 校验中.
        _fail(ctx, import_id, "校验时出错，请重新上传文件；详情见服务器日志")
        raise
    finally:
        table.rows.close()  # the reader holds the file open until it is closed or exhausted

    log.info(
        "import %s: %d rows checked and staged in %.1f s",
        import_id,
        counters["read"],
        time.perf_counter() - started,
    )
    with ctx.db.transaction() as session:
        _analyze(session, spec.stage)
        counters["rejected"] += _reject_duplicates(session, spec, import_id)
        job = session.get(ImportJob, import_id)
        job.detected_format = table.format
        job.detected_encoding = table.encoding
        job.mapping = json.dumps(mapping.matched, ensure_ascii=False)
        job.unknown_headers = json.dumps(mapping.unknown, ensure_ascii=False)
        job.rows_read = counters["read"]
        job.rejected = counters["rejected"]
        job.rows_valid = counters["read"] - counters["rejected"]
        job.blank_rows = table.blank_rows
        predicted = _counts(session, job)
        job.inserted, job.updated, job.unchanged = (
            predicted["inserted"],
            predicted["updated"],
            predicted["unchanged"],
        )
        job.status = "ready"
        job.validated_at = utcnow()
        return {"import_id": import_id, "rows_read": job.rows_read, "rejected": job.rejected}


def _stage_here(ctx: tasks.TaskContext, job_info: tuple, raw: Iterator, count: Callable) -> None:
    """Check and stage the batches in this process. On PostgreSQL a thread checks the next
    batches while the database stages this one."""
    spec, import_id, department_id, index, width = job_info
    with ctx.db.transaction(write=False) as session:
        context = _Context(session, spec.name, department_id)
    check = _Checker(spec, index, width, context)
    batches = (check(row_nos, cells) for row_nos, cells in raw)
    if ctx.db.dialect == "postgresql":
        batches = _ahead(batches, functools.partial(_copy_text, spec, import_id))
    # closing(): a checking thread stops before the reader is closed (by the caller).
    with contextlib.closing(batches):
        for batch in batches:
            with ctx.db.transaction() as session:
                _write_stage(session, spec, import_id, batch)
                _write_rejects(session, import_id, batch.rejects)
            count(batch.read, batch.rejected)


def _in_processes(ctx: tasks.TaskContext, size: int) -> bool:
    """Whether to check a file in a pool of processes: a large file on PostgreSQL (each
    process stages through a connection of its own, which a Database bound to one connection,
    in tests, cannot share)."""
    return (
        ctx.db.dialect == "postgresql"
        and not ctx.db.bound
        and ctx.config["IMPORT_PROCESSES"] > 1
        and size >= ctx.config["IMPORT_PROCESSES_MIN_BYTES"]
    )


def _stage_in_processes(
    ctx: tasks.TaskContext, job_info: tuple, raw: Iterator, count: Callable
) -> None:
    """Check and stage the batches in a pool of processes, each with its own connection;
    this one reads the file and hands the batches out, a few ahead at most (memory)."""
    processes = ctx.config["IMPORT_PROCESSES"]
    spec, *rest = job_info
    log.info("import %s: checked by %d processes", ctx.params["import_id"], processes)
    url = ctx.db.engine.url.render_as_string(hide_password=False)
    # A process that dies (or whose start fails) breaks the pool: the import fails, it is not
    # retried for ever.
    pool = ProcessPoolExecutor(
        processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_process_start,
        initargs=(url, spec.name, *rest),
    )
    pending: collections.deque = collections.deque()
    try:
        for batch in raw:
            pending.append(pool.submit(_process_batch, *batch))
            while pending and (len(pending) > 2 * processes or pending[0].done()):
                count(*pending.popleft().result())
        while pending:
            count(*pending.popleft().result())
    finally:
        pool.shutdown(cancel_futures=True)


_PROCESS: dict = {}  # a pool process's database, checker and import


def _process_start(url: str, kind: str, import_id: int, department_id: int, index, width):
    gc.disable()  # as _no_cyclic_gc: the process lives for one import
    spec = kind_of(kind)
    db = Database(make_engine(url))
    with db.transaction(write=False) as session:
        context = _Context(session, spec.name, department_id)
    _PROCESS.update(db=db, spec=spec, id=import_id, check=_Checker(spec, index, width, context))


def _process_batch(row_nos: list[int], cells: list[list]) -> tuple[int, int]:
    spec, import_id = _PROCESS["spec"], _PROCESS["id"]
    batch = _copy_text(spec, import_id, _PROCESS["check"](row_nos, cells))
    with _PROCESS["db"].transaction() as session:
        _write_stage(session, spec, import_id, batch)
        _write_rejects(session, import_id, batch.rejects)
    return batch.read, batch.rejected


def _fail(ctx: tasks.TaskContext, import_id: int, message: str) -> dict:
    with ctx.db.transaction() as session:
        job = session.get(ImportJob, import_id)
        _clear_stage(session, job)
        job.status, job.error = "failed", message
        audit.record(
            session,
            actor=ctx.actor(session),
            action="import.reject_file",
            object_type="import",
            object_id=job.id,
            after={"filename": job.filename, "sha256": job.sha256, "reason": message},
            department_id=job.department_id,
        )
    return {"import_id": import_id, "error": message}


# --- applying (background, one transaction) ---------------------------------------------------


def _mapped_columns(job: ImportJob, spec: Kind) -> list[str]:
    """The stored columns this file sets: its mapped fields (other columns keep their values)."""
    fields = [f for _header, f in json.loads(job.mapping or "[]")]
    if spec.name == "conflicts":
        fields = [f for f in fields if f not in ("cert_no", "uscc")] + list(spec.key)
    return [f for f in dict.fromkeys(fields) if f in spec.model.__table__.c]


def _match(spec: Kind, job: ImportJob):
    target, stage = spec.model.__table__, spec.stage
    return and_(
        target.c.department_id == job.department_id,
        *[target.c[k] == stage.c[k] for k in spec.key],
    )


def _changed(spec: Kind, columns: list[str]):
    target, stage = spec.model.__table__, spec.stage
    data = [c for c in columns if c not in spec.key]
    if not data:
        return literal(False)
    return or_(*[target.c[c].is_distinct_from(stage.c[c]) for c in data])


def _counts(session: Session, job: ImportJob) -> dict:
    spec = kind_of(job.kind)
    target, stage = spec.model.__table__, spec.stage
    columns = _mapped_columns(job, spec)
    # One pass over the stage: every staged row, those matching a stored row, those changing it.
    matching = target.c.department_id  # not null on a stored row: NULL means no match
    staged, matched, changed = session.execute(
        select(
            func.count(),
            func.count(matching),
            func.count(matching).filter(_changed(spec, columns)),
        )
        .select_from(stage)
        .outerjoin(target, _match(spec, job))
        .where(stage.c.import_id == job.id)
    ).one()
    return {"inserted": staged - matched, "updated": changed, "unchanged": matched - changed}


def _insert_defaults(spec: Kind, now) -> dict:
    values = {}
    for column in spec.model.__table__.columns:
        if column.name in ("id",):
            continue
        if column.name in ("created_at", "updated_at"):
            values[column.name] = now
        elif column.default is not None and column.default.is_scalar:
            values[column.name] = column.default.arg
    return values


@tasks.handler("import.apply", "导入名录")
def apply(ctx: tasks.TaskContext) -> dict:
    import_id = ctx.params["import_id"]
    ctx.progress(0, 0, "正在写入名录（单个事务）")
    with ctx.db.transaction(write=False) as session:
        job = session.get(ImportJob, import_id)
        table = kind_of(job.kind).model.__table__
        plan = _Plan()
        if job.status == "applying":
            plan = _plan(session, table, job.inserted, ctx.config["IMPORT_REBUILD_MIN_ROWS"])
    concurrent = plan.indexes and not ctx.db.bound
    with _index_builder(ctx.db) if concurrent else contextlib.nullcontext() as builder:
        if builder is not None:
            _drop_indexes(builder, table)
        try:
            result = _apply(ctx, import_id, plan)
        except tasks.Interrupted:
            raise  # the worker's housekeeping builds the indexes
        except Exception:
            # The registry is untouched (the transaction rolled back); say so on the batch.
            with ctx.db.transaction() as session:
                job = session.get(ImportJob, import_id)
                job.status = "failed"
                job.error = "写入名录时出错，名录未作任何改动；详情见服务器日志"
            if builder is not None:
                _build_indexes(builder, [table], concurrently=True)
            raise
        if plan.indexes:  # dropped before or in the transaction, whatever it wrote
            ctx.progress(0, 0, "正在重建检索索引（名录可正常使用，检索暂时较慢）")
            started = time.perf_counter()
            if builder is not None:
                _build_indexes(builder, [table], concurrently=True)
            else:
                build_indexes(ctx.db, [table])
            with ctx.db.transaction() as session:
                _analyze(session, table)  # after the builds: it also samples expression indexes
            log.info("import %s: indexes built in %.1f s", import_id, time.perf_counter() - started)
    return result


def _write(
    session: Session,
    job: ImportJob,
    spec: Kind,
    columns: list[str],
    counts: dict,
    now,
    *,
    ordered: bool,
):
    """Update the changed rows and insert the new ones, from the stage: `ordered`, in the
    file's order (their ids follow it); else in the stage's (the file's, batch by batch as
    they were staged), which saves sorting a million rows (a third of the insert's time)."""
    target, stage = spec.model.__table__, spec.stage
    mine = stage.c.import_id == job.id
    data = [c for c in columns if c not in spec.key]
    if data and counts["updated"]:
        session.execute(
            update(target)
            .where(_match(spec, job), mine, _changed(spec, columns))
            .values({**{c: stage.c[c] for c in data}, "updated_at": now})
        )
    if counts["inserted"] and not spec.updates_only:
        defaults = _insert_defaults(spec, now)
        insert_columns = ["department_id", *columns]
        defaulted = [c for c in defaults if c not in insert_columns]
        selected = [literal(job.department_id)]
        for c in columns:
            default = defaults.get(c)
            selected.append(
                func.coalesce(stage.c[c], literal(default)) if default is not None else stage.c[c]
            )
        selected += [literal(defaults[c]) for c in defaulted]
        rows = select(*selected).where(mine, ~exists().where(_match(spec, job)))
        if ordered:
            rows = rows.order_by(stage.c.row_no)
        session.execute(target.insert().from_select(insert_columns + defaulted, rows))


def _analyze(session: Session, stage: Table) -> None:
    """Fresh planner statistics for a staging table that just received many rows: without them
    PostgreSQL plans the joins against the registry as if the stage were empty."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {stage.name}"))


@dataclasses.dataclass(frozen=True)
class _Plan:
    """How an import writes its rows (PostgreSQL). `indexes`: the list's plain indexes
    (searches and filters, nothing that guards the data) are dropped before it, concurrently,
    and built after its commit, concurrently; nobody waits for them, and searches meanwhile
    scan the table. `constraints`: its unique and foreign-key constraints are set aside too,
    inside its transaction (which then locks the list until it commits)."""

    indexes: bool = False
    constraints: bool = False


def _plan(session: Session, table: Table, inserting: int | None, min_rows: int) -> _Plan:
    """Rebuilding costs less than maintaining row by row for a large insert: the plain
    indexes (GIN above all) from half the list's size on, the constraints from its size on."""
    if session.get_bind().dialect.name != "postgresql" or (inserting or 0) < min_rows:
        return _Plan()
    rows = session.scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = CAST(:name AS regclass)"),
        {"name": table.name},
    )
    rows = max(rows or 0, 0)  # -1: never analysed
    return _Plan(indexes=2 * inserting >= rows, constraints=inserting >= rows)


@contextlib.contextmanager
def _set_aside(session: Session, table: Table, plan: _Plan) -> Iterator[None]:
    """Drop the table's plain indexes, left to build after the commit (see _Plan; already
    gone unless the Database is bound to one connection, in tests), and with
    `plan.constraints` its unique and foreign-key constraints (not its primary key), which
    are re-created afterwards in the same transaction.

    Dropping a constraint locks the table (ACCESS EXCLUSIVE) until the transaction ends:
    readers of the list wait for the import to commit; a failed import rolls the drops back
    with the rest. Re-adding the unique constraints re-checks the natural keys, so nothing is
    trusted blindly.
    """
    foreign = unique = []
    if plan.constraints:
        foreign = sorted(table.foreign_key_constraints, key=lambda c: c.name)
        unique = sorted(
            (c for c in table.constraints if isinstance(c, UniqueConstraint)),
            key=lambda c: c.name,
        )
    # Generous memory for the insert and the constraints' index builds, for this transaction.
    session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    for constraint in [*foreign, *unique]:
        session.execute(DropConstraint(constraint))
    for index in sorted(table.indexes, key=lambda i: i.name):
        session.execute(DropIndex(index, if_exists=True))
    yield
    for constraint in unique:
        session.execute(AddConstraint(constraint))
    for constraint in foreign:
        session.execute(AddConstraint(constraint))


# pg_advisory_lock key of the index builders ("SSJINDEX"): one builds at a time.
_PG_INDEX_LOCK_KEY = 0x5353_4A49_4E44_4558 & 0x7FFF_FFFF_FFFF_FFFF
_INDEX_VALID = text(
    "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE c.relname = :name AND c.relnamespace = CAST(current_schema() AS regnamespace)"
)


def build_indexes(db: Database, tables: list[Table] | None = None, *, wait: bool = True) -> list:
    """Build the registry lists' indexes that are missing or invalid (PostgreSQL), with CREATE
    INDEX CONCURRENTLY: the lists stay readable and writable meanwhile. Returns their names.

    A large import builds its table's after its commit (_Plan); the worker calls this on every
    housekeeping round (wait=False: it skips while another process holds the builders' lock),
    which finishes a build cut short by a crash (left INVALID: dropped and built again). A
    Database bound to one connection (tests) builds them in its transaction, where
    CONCURRENTLY cannot run.
    """
    if db.dialect != "postgresql":
        return []
    tables = tables or [kind.model.__table__ for kind in LISTS.values()]
    if db.bound:
        with db.transaction() as session:
            return _build_indexes(session.connection(), tables, concurrently=False)
    with _index_builder(db, wait=wait) as builder:
        return _build_indexes(builder, tables, concurrently=True) if builder is not None else []


@contextlib.contextmanager
def _index_builder(db: Database, *, wait: bool = True) -> Iterator:
    """An autocommit connection holding the index builders' advisory lock (one process drops
    and builds the lists' indexes at a time), or None when `wait` is false and another holds
    it."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        lock = {"k": _PG_INDEX_LOCK_KEY}
        if wait:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), lock)
        elif not connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), lock):
            yield None
            return
        connection.execute(text("SET maintenance_work_mem = '256MB'"))
        try:
            yield connection
        finally:
            connection.execute(text("RESET maintenance_work_mem"))
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), lock)


def _drop_indexes(connection, table: Table) -> None:
    preparer = connection.dialect.identifier_preparer
    for index in sorted(table.indexes, key=lambda i: i.name):
        connection.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {preparer.quote(index.name)}"))


def _build_indexes(connection, tables: list[Table], *, concurrently: bool) -> list:
    built = []
    for table in tables:
        for index in sorted(table.indexes, key=lambda i: i.name):
            valid = connection.scalar(_INDEX_VALID, {"name": index.name})
            if valid:
                continue
            started = time.perf_counter()
            if valid is False:  # a concurrent build that died half-way
                connection.execute(DropIndex(index))
            ddl = str(CreateIndex(index).compile(dialect=connection.dialect))
            if concurrently:
                ddl = ddl.replace("CREATE INDEX ", "CREATE INDEX CONCURRENTLY ", 1)
            connection.execute(text(ddl))
            log.info("index %s built in %.1f s", index.name, time.perf_counter() - started)
            built.append(index.name)
    return built


def _apply(ctx: tasks.TaskContext, import_id: int, plan: _Plan) -> dict:
    """Write the staged rows in one transaction."""
    started = time.perf_counter()
    with ctx.db.transaction() as session:
        job = session.get(ImportJob, import_id)
        if job.status != "applying":  # applied before the worker stopped, and handed back
            return {"import_id": import_id, "status": job.status}
        spec = kind_of(job.kind)
        target, stage = spec.model.__table__, spec.stage
        columns = _mapped_columns(job, spec)
        counts = _counts(session, job)
        log.info("import %s: counted in %.1f s", import_id, time.perf_counter() - started)
        staged = counts["inserted"] + counts["updated"] + counts["unchanged"]
        error = None
        if staged != job.rows_valid:  # the stage is unlogged: a server crash empties it
            error = "暂存的校验结果已丢失（数据库服务曾重启），名录未作任何改动，请重新上传文件"
        elif spec.updates_only and counts["inserted"]:
            # Entities changed their USCC since validation: nothing is written, say so.
            error = (
                f"{counts['inserted']} 行的统一社会信用代码在校验后已不在本部门名录中，"
                "名录未作任何改动，请重新上传"
            )
        if error:
            session.execute(delete(stage).where(stage.c.import_id == job.id))
            job.status, job.error = "failed", error
            return {"import_id": import_id, "error": error}
        now = utcnow()
        with _set_aside(session, target, plan) if plan.indexes else contextlib.nullcontext():
            _write(session, job, spec, columns, counts, now, ordered=not plan.indexes)
        log.info(
            "import %s: written in %.1f s%s",
            import_id,
            time.perf_counter() - started,
            " (indexes and constraints rebuilt)"
            if plan.constraints
            else " (indexes rebuilt)"
            if plan.indexes
            else "",
        )
        session.execute(delete(stage).where(stage.c.import_id == job.id))
        job.inserted, job.updated, job.unchanged = (
            counts["inserted"],
            counts["updated"],
            counts["unchanged"],
        )
        job.status, job.applied_at = "done", utcnow()
        audit.record(
            session,
            actor=ctx.actor(session),
            action="import.apply",
            object_type="import",
            object_id=job.id,
            after={
                "kind": job.kind,
                "filename": job.filename,
                "sha256": job.sha256,
                "rows_read": job.rows_read,
                "inserted": job.inserted,
                "updated": job.updated,
                "unchanged": job.unchanged,
                "rejected": job.rejected,
            },
            department_id=job.department_id,
        )
        return {"import_id": import_id, **counts, "rejected": job.rejected}
