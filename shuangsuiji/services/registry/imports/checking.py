"""Checking an uploaded file: its rows, a batch at a time, in this process or a pool of
processes, staged for the preview and the apply.

Every function here flushes; the worker's task handler (worker/imports.py) owns the
transactions (one per staged batch, so a large file never holds one open for long).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import dataclasses
import datetime as dt
import gc
import itertools
import json
import logging
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from queue import Full, Queue

from sqlalchemy import Column, and_, delete, exists, func, select
from sqlalchemy.orm import Session

from .... import tabular
from ....columns import REJECT_NOTE_HEADERS, CellError
from ....db import Entity, ImportJob, ImportReject, Inspector, utcnow
from ....db.states import ImportStatus
from ....errors import Invalid
from .applying import counts
from .indexes import analyze
from .jobs import Kind, clear_stage, kind_of, limits_from, lock

NO_HEADER = "（无表头的列）"
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Source:
    """What checking needs to know of a batch, read before the file is opened."""

    spec: Kind
    import_id: int
    department_id: int
    size: int
    path: Path
    filename: str
    encoding: str | None
    sheet: str | None


def begin(session: Session, import_id: int) -> Source | None:
    """Forget what an earlier attempt staged or rejected (a handed-back task starts again);
    None when the batch is no longer to be checked (cancelled meanwhile)."""
    job = lock(session, import_id)
    if job.status != ImportStatus.VALIDATING:
        return None
    clear_stage(session, job)
    session.execute(delete(ImportReject).where(ImportReject.import_id == job.id))
    return Source(
        kind_of(job.kind),
        job.id,
        job.department_id,
        job.size,
        Path(job.stored_path),
        job.filename,
        job.encoding,
        job.sheet,
    )


def still_validating(session: Session, import_id: int) -> bool:
    status = session.scalar(select(ImportJob.status).where(ImportJob.id == import_id))
    return status == ImportStatus.VALIDATING


def open_table(source: Source, config: dict) -> tabular.Table:
    """The file's table (tabular.open_table); raises Invalid for a file that cannot be read."""
    return tabular.open_table(
        source.path,
        filename=source.filename,
        encoding=source.encoding,
        sheet=source.sheet,
        limits=limits_from(config),
    )


def map_headers(source: Source, table: tabular.Table) -> tabular.HeaderMapping:
    mapping = tabular.map_headers(table.headers, [f.column() for f in source.spec.fields])
    # A rejected-rows file imported again: its note columns are known, and ignored.
    notes = {tabular.normalise_header(h) for h in REJECT_NOTE_HEADERS}
    mapping.unknown = [h for h in mapping.unknown if tabular.normalise_header(h) not in notes]
    if mapping.missing:
        raise Invalid("缺少必填列：" + "、".join(mapping.missing))
    return mapping


def finish(
    session: Session,
    source: Source,
    table: tabular.Table,
    mapping: tabular.HeaderMapping,
    read: int,
    rejected: int,
) -> dict:
    """Every batch is staged: reject the duplicates within the file, predict the counts and
    make the batch ready for its preview."""
    spec, import_id = source.spec, source.import_id
    job = lock(session, import_id)
    if job.status != ImportStatus.VALIDATING:  # cancelled while it was being checked
        clear_stage(session, job)
        return {"import_id": import_id, "status": str(job.status)}
    analyze(session, spec.stage)
    rejected += reject_duplicates(session, spec, import_id, mapping.index, len(table.headers))
    job.headers = json.dumps(table.headers, ensure_ascii=False)
    job.detected_format = table.format
    job.detected_encoding = table.encoding
    job.mapping = json.dumps(mapping.matched, ensure_ascii=False)
    job.unknown_headers = json.dumps(mapping.unknown, ensure_ascii=False)
    job.rows_read = read
    job.rejected = rejected
    job.rows_valid = read - rejected
    job.blank_rows = table.blank_rows
    predicted = counts(session, job)
    job.inserted, job.updated, job.unchanged = (
        predicted["inserted"],
        predicted["updated"],
        predicted["unchanged"],
    )
    job.status = ImportStatus.READY
    job.validated_at = utcnow()
    return {"import_id": import_id, "rows_read": job.rows_read, "rejected": job.rejected}


class Context:
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
class Batch:
    """A batch of checked rows: the valid ones column by column (stage column name → values)
    and the problems of the others."""

    columns: dict[str, list]
    size: int  # valid rows
    rejects: list  # (row, column, value, reason)
    read: int
    rejected: int
    copy: str | None = None  # the valid rows in COPY's text format (PostgreSQL)


class CellColumn:
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


class Checker:
    """Checks the rows of a file a batch at a time (`checker(row_nos, cells)` → Batch).

    The hot path of an import (millions of rows): each field is parsed a column at a time.
    A row's problems keep the order of its fields, then cells beyond the header, then the
    cross-row checks. Duplicates within the file are looked for among the staged rows once
    every batch is in (reject_duplicates), so batches are independent of each other and can
    be checked in several processes at once.
    """

    def __init__(self, spec: Kind, index: dict[str, int], width: int, context: Context):
        self.fields = [
            (f.name, CellColumn(f.parse), index[f.name], f.required, f.label)
            for f in spec.fields
            if f.name in index
        ]
        self.width = width  # the header's
        self.context = context

    def __call__(self, row_nos: list[int], cells: list[list[str]]) -> Batch:
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
        rejects = []
        for i in sorted(problems):
            # The row's cells go with its first problem, for the rejected-rows file.
            whole: str | None = json.dumps(cells[i], ensure_ascii=False)
            for col, value, why in problems[i]:
                rejects.append((row_nos[i], col, value, why, whole))
                whole = None
        if problems:
            keep = [i for i in range(len(row_nos)) if i not in problems]
            columns = {name: [values[i] for i in keep] for name, values in columns.items()}
        size = len(row_nos) - len(problems)
        return Batch(columns, size, rejects, len(row_nos), len(problems))


def raw_batches(table: tabular.Table, size: int) -> Iterator[tuple[list[int], list[list]]]:
    """The table's rows, `size` at a time: (row numbers, rows of cells)."""
    rows = iter(table.rows)
    while batch := list(itertools.islice(rows, size)):
        yield [row_no for row_no, _ in batch], [cells for _, cells in batch]


def reject_duplicates(
    session: Session, spec: Kind, import_id: int, index: dict[str, int], width: int
) -> int:
    """Reject each staged row whose file key an earlier staged row of the import has, and
    return how many. Only rows without other problems are staged: the first valid row of a
    key stays, and a row refused for another reason does not make a later one a duplicate.
    A rejected row's cells are written back from its staged values (`index`: field → column
    of the file, `width`: the header's), for the rejected-rows file; the columns the import
    does not read were not kept, and stay empty there."""
    stage = spec.stage
    keys = [stage.c[k] for k in file_key(spec)]
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
    placed = [(name, column) for name, column in index.items() if name in stage.c]
    later = (
        select(stage.c.row_no, first.c.first_row, *[stage.c[name] for name, _ in placed])
        .join_from(stage, first, and_(*[k == first.c[k.name] for k in keys]))
        .where(mine, stage.c.row_no > first.c.first_row)
    )
    found = session.execute(later.order_by(stage.c.row_no)).all()
    label = "执法证号+信用代码" if spec.name == "conflicts" else spec.fields[0].label
    rejects = []
    for row_no, first_row, *values in found:
        staged = dict(zip([name for name, _ in placed], values, strict=True))
        cells = [""] * width
        for (_name, column), value in zip(placed, values, strict=True):
            cells[column] = _cell_text(value)
        key = " / ".join(str(staged[k.name]) for k in keys)
        reason = f"与文件第 {first_row} 行重复"
        rejects.append((row_no, label, key, reason, json.dumps(cells, ensure_ascii=False)))
    write_rejects(session, import_id, rejects)
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


def _cell_text(value) -> str:
    """A staged value as a file's cell would hold it (imported again, it parses the same)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def file_key(spec: Kind) -> tuple[str, ...]:
    return ("cert_no", "uscc") if spec.name == "conflicts" else spec.key


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def copy_column(kind: type, values: list) -> list[str]:
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


def stage_columns(spec: Kind, job_id: int, batch: Batch) -> tuple[list[Column], list[list]]:
    """The stage columns this batch fills (the others stay NULL), and their values."""
    values = {**batch.columns, "import_id": [job_id] * batch.size}
    columns = [c for c in spec.stage.columns if c.name in values]
    return columns, [values[c.name] for c in columns]


def copy_text(spec: Kind, job_id: int, batch: Batch) -> Batch:
    columns, values = stage_columns(spec, job_id, batch)
    texts = map(copy_column, [c.type.python_type for c in columns], values)
    batch.copy = "\n".join(map("\t".join, zip(*texts, strict=True))) + "\n"
    return batch


def write_stage(session: Session, spec: Kind, job_id: int, batch: Batch) -> None:
    if not batch.size:
        return
    columns, values = stage_columns(spec, job_id, batch)
    names = [c.name for c in columns]
    if session.get_bind().dialect.name == "postgresql":
        if batch.copy is None:
            copy_text(spec, job_id, batch)
        cursor = session.connection().connection.driver_connection.cursor()
        with cursor.copy(f"COPY {spec.stage.name} ({', '.join(names)}) FROM STDIN") as copy:
            copy.write(batch.copy)
        return
    rows = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
    session.execute(spec.stage.insert(), rows)


def ahead(items: Iterator, prepare: Callable, depth: int = 2) -> Iterator:
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


def write_rejects(session: Session, job_id: int, items: list) -> None:
    """Store rejects, each (row, column, value, reason, the row's cells as JSON or None)."""
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
                    "cells": cells,
                }
                for row, col, value, reason, cells in items
            ],
        )


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
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


def stage_batch(session: Session, spec: Kind, import_id: int, batch: Batch) -> None:
    """Stage a checked batch's valid rows and store its rejected ones."""
    write_stage(session, spec, import_id, batch)
    write_rejects(session, import_id, batch.rejects)


def in_processes(dialect: str, bound: bool, config: dict, size: int) -> bool:
    """Whether to check a file in a pool of processes: a large file on PostgreSQL (each
    process stages through a connection of its own, which a Database bound to one connection,
    in tests, cannot share)."""
    return (
        dialect == "postgresql"
        and not bound
        and config["IMPORT_PROCESSES"] > 1
        and size >= config["IMPORT_PROCESSES_MIN_BYTES"]
    )


def run_pool(
    processes: int,
    raw: Iterator,
    *,
    initializer: Callable,
    initargs: tuple,
    work: Callable,
    count: Callable,
) -> None:
    """Hand the raw batches to a pool of `processes` spawned processes (`initializer(*initargs)`
    in each, then `work(row_nos, cells)` → (read, rejected) per batch), a few ahead at most
    (memory), reporting each result to `count` in the file's order.

    The processes exit when this one dies (kill -9, out of memory): see _orphan_guard."""
    # A process that dies (or whose start fails) breaks the pool: the import fails, it is not
    # retried for ever.
    pool = ProcessPoolExecutor(
        processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_pool_process_start,
        initargs=(os.getpid(), initializer, *initargs),
    )
    pending: collections.deque = collections.deque()
    try:
        for batch in raw:
            pending.append(pool.submit(work, *batch))
            while pending and (len(pending) > 2 * processes or pending[0].done()):
                count(*pending.popleft().result())
        while pending:
            count(*pending.popleft().result())
    finally:
        pool.shutdown(cancel_futures=True)


def _pool_process_start(parent: int, initializer: Callable, *initargs) -> None:
    _orphan_guard(parent)
    initializer(*initargs)


# How often a pool process looks whether its parent is still there (the fallback of
# PR_SET_PDEATHSIG).
PARENT_WATCH_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _orphan_guard(parent: int) -> None:
    """Make this pool process exit when `parent` (the process that started the pool) dies.

    A pool process left behind would keep checking and staging for an import nobody waits
    for, holding a database connection, for as long as its batch lasts, and then wait for
    work for ever: the pool's call queue, which every process holds both ends of, never
    closes. On Linux the kernel sends SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG;
    strictly, when the thread that started the process ends, which is the thread that runs
    the pool); everywhere a watchdog thread also looks for a new parent every
    PARENT_WATCH_SECONDS. The database server rolls back what a killed process had not
    committed, and the batch is failed by its task (see worker/imports.py).
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
                log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        except (OSError, AttributeError):  # no libc with prctl: the watchdog alone
            log.warning("prctl unavailable; the parent watchdog alone guards against orphans")
    if os.getppid() != parent:  # the parent died before the guard was set
        os._exit(1)
    watchdog = threading.Thread(
        target=_watch_parent, args=(parent,), name="parent-watchdog", daemon=True
    )
    watchdog.start()


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_WATCH_SECONDS)
        if os.getppid() != parent:
            os._exit(1)
