"""The registry's background tasks: checking an uploaded file (import.validate), applying a
checked batch (import.apply), building the lists' indexes, exporting a list (export.list).

These handlers own the transactions; the services below them (services/registry) only flush.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Table

from ..db import Database, ImportJob, make_engine
from ..db.states import ImportStatus
from ..errors import Invalid
from ..services.platform import tasks
from ..services.registry import exports
from ..services.registry.imports import applying, checking, indexes, jobs
from .handlers import Interrupted, TaskContext, handler

log = logging.getLogger(__name__)


# --- import.validate --------------------------------------------------------------------------


class _Cancelled(Exception):
    """The batch was cancelled while its file was being checked."""


@handler("import.validate")
def validate(ctx: TaskContext) -> dict:
    import_id = ctx.params["import_id"]
    started = time.perf_counter()
    with ctx.db.transaction() as session:
        source = checking.begin(session, import_id)
    if source is None:
        return {"import_id": import_id, "status": str(ImportStatus.CANCELLED)}
    try:
        table = checking.open_table(source, ctx.config)
    except Invalid as exc:
        return _reject_file(ctx, import_id, exc.message)
    counters = {"read": 0, "rejected": 0, "looked": time.monotonic()}
    try:
        mapping = checking.map_headers(source, table)
        raw = checking.raw_batches(table, ctx.config["IMPORT_BATCH_ROWS"])

        def count(read: int, rejected: int) -> None:
            counters["read"] += read
            counters["rejected"] += rejected
            ctx.progress(counters["read"], 0, f"已校验 {counters['read']:,} 行")
            if time.monotonic() - counters["looked"] > CANCEL_LOOK_SECONDS:
                counters["looked"] = time.monotonic()
                with ctx.db.transaction(write=False) as session:
                    if not checking.still_validating(session, import_id):
                        raise _Cancelled

        with checking.no_cyclic_gc():
            if checking.in_processes(ctx.db.dialect, ctx.db.bound, ctx.config, source.size):
                _stage_in_processes(ctx, source, mapping, len(table.headers), raw, count)
            else:
                _stage_here(ctx, source, mapping, len(table.headers), raw, count)
    except Invalid as exc:  # FileRejected included: a bad record, too many rows
        return _reject_file(ctx, import_id, exc.message)
    except _Cancelled:
        with ctx.db.transaction() as session:
            jobs.clear_stage(session, jobs.lock(session, import_id))
        return {"import_id": import_id, "status": str(ImportStatus.CANCELLED)}
    except Interrupted:
        raise  # handed back: validated again from the start
    except Exception:
        # A database error, a checking process that died: the batch must not stay 校验中.
        _reject_file(ctx, import_id, "校验时出错，请重新上传文件；详情见服务器日志")
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
        return checking.finish(
            session, source, table, mapping, counters["read"], counters["rejected"]
        )


# How often a check of a large file looks whether its batch was cancelled meanwhile.
CANCEL_LOOK_SECONDS = 2.0


def _reject_file(ctx: TaskContext, import_id: int, message: str) -> dict:
    with ctx.db.transaction() as session:
        return jobs.reject_file(session, import_id, message, actor=ctx.actor(session))


def _stage_here(
    ctx: TaskContext,
    source: checking.Source,
    mapping,
    width: int,
    raw: Iterator,
    count: Callable,
) -> None:
    """Check and stage the batches in this process, one transaction each. On PostgreSQL a
    thread checks the next batches while the database stages this one."""
    spec, import_id = source.spec, source.import_id
    with ctx.db.transaction(write=False) as session:
        context = checking.Context(session, spec.name, source.department_id)
    check = checking.Checker(spec, mapping.index, width, context)
    batches = (check(row_nos, cells) for row_nos, cells in raw)
    if ctx.db.dialect == "postgresql":
        batches = checking.ahead(batches, functools.partial(checking.copy_text, spec, import_id))
    # closing(): a checking thread stops before the reader is closed (by the caller).
    with contextlib.closing(batches):
        for batch in batches:
            with ctx.db.transaction() as session:
                checking.stage_batch(session, spec, import_id, batch)
            count(batch.read, batch.rejected)


def _stage_in_processes(
    ctx: TaskContext,
    source: checking.Source,
    mapping,
    width: int,
    raw: Iterator,
    count: Callable,
) -> None:
    """Check and stage the batches in a pool of processes, each with its own connection and
    one transaction per batch; this one reads the file and hands the batches out."""
    processes = ctx.config["IMPORT_PROCESSES"]
    log.info("import %s: checked by %d processes", source.import_id, processes)
    url = ctx.db.engine.url.render_as_string(hide_password=False)
    checking.run_pool(
        processes,
        raw,
        initializer=_process_start,
        initargs=(
            url,
            source.spec.name,
            source.import_id,
            source.department_id,
            mapping.index,
            width,
        ),
        work=_process_batch,
        count=count,
    )


_PROCESS: dict = {}  # a pool process's database, checker and import


def _process_start(url: str, kind: str, import_id: int, department_id: int, index, width):
    gc.disable()  # as no_cyclic_gc: the process lives for one import
    spec = jobs.kind_of(kind)
    db = Database(make_engine(url))
    with db.transaction(write=False) as session:
        context = checking.Context(session, spec.name, department_id)
    _PROCESS.update(
        db=db, spec=spec, id=import_id, check=checking.Checker(spec, index, width, context)
    )


def _process_batch(row_nos: list[int], cells: list[list]) -> tuple[int, int]:
    spec, import_id = _PROCESS["spec"], _PROCESS["id"]
    batch = checking.copy_text(spec, import_id, _PROCESS["check"](row_nos, cells))
    with _PROCESS["db"].transaction() as session:
        checking.stage_batch(session, spec, import_id, batch)
    return batch.read, batch.rejected


# --- import.apply -----------------------------------------------------------------------------


APPLY_FAILED = "写入名录时出错，名录未作任何改动；详情见服务器日志"


@handler("import.apply")
def apply(ctx: TaskContext) -> dict:
    """Apply a checked batch in one transaction. Any error leaves the list as it was and the
    batch failed with a reason, its stage cleared (an interruption hands the task back: it is
    applied again; should its worker die every time, the failure hook fails the batch)."""
    import_id = ctx.params["import_id"]
    ctx.progress(0, 0, "正在写入名录（单个事务）")
    try:
        return _apply(ctx, import_id)
    except Interrupted:
        raise  # the worker's housekeeping builds the indexes
    except Exception:
        with ctx.db.transaction() as session:
            jobs.fail_unfinished(session, import_id, APPLY_FAILED)
        raise


def _apply(ctx: TaskContext, import_id: int) -> dict:
    with ctx.db.transaction(write=False) as session:
        job = session.get(ImportJob, import_id)
        table = jobs.kind_of(job.kind).model.__table__
        plan = applying.Plan()
        if job.status == ImportStatus.APPLYING:
            plan = applying.plan_for(
                session, table, job.inserted, ctx.config["IMPORT_REBUILD_MIN_ROWS"]
            )
    concurrent = plan.indexes and not ctx.db.bound
    builder_of = (
        indexes.index_builder(ctx.db, waiting=_heartbeat(ctx, "正在等待其他导入重建检索索引"))
        if concurrent
        else contextlib.nullcontext()
    )
    with builder_of as builder:
        if builder is not None:
            indexes.drop_indexes(builder, table)
        try:
            with ctx.db.transaction() as session:
                result = applying.apply_staged(session, import_id, plan, actor=ctx.actor(session))
        except Exception:
            # The registry is untouched (the transaction rolled back); its indexes come back.
            if builder is not None:
                indexes.build_missing(builder, [table], concurrently=True)
            raise
        if plan.indexes:  # dropped before or in the transaction, whatever it wrote
            ctx.progress(0, 0, "正在重建检索索引（名录可正常使用，检索暂时较慢）")
            started = time.perf_counter()
            if builder is not None:
                indexes.build_missing(builder, [table], concurrently=True)
            else:
                build_indexes(ctx.db, [table])
            with ctx.db.transaction() as session:
                indexes.analyze(session, table)  # after the builds: it samples expression indexes
            log.info("import %s: indexes built in %.1f s", import_id, time.perf_counter() - started)
    return result


def _heartbeat(ctx: TaskContext, message: str, every: float = 5.0) -> Callable[[], None]:
    """A `waiting()` for a poll loop: the task's progress (its heartbeat, which also raises
    when the worker stops) every `every` seconds."""
    last = [0.0]

    def beat() -> None:
        if time.monotonic() - last[0] >= every:
            last[0] = time.monotonic()
            ctx.progress(0, 0, message)

    return beat


def build_indexes(db: Database, tables: list[Table] | None = None, *, wait: bool = True) -> list:
    """Build the registry lists' indexes that are missing or invalid (PostgreSQL), with CREATE
    INDEX CONCURRENTLY: the lists stay readable and writable meanwhile. Returns their names.

    A large import builds its table's after its commit (applying.Plan); the worker calls this on
    every housekeeping round (wait=False: it skips while another process holds the builders'
    lock), which finishes a build cut short by a crash. A Database bound to one connection
    (tests) builds them in its transaction, where CONCURRENTLY cannot run.
    """
    if db.dialect != "postgresql":
        return []
    tables = tables or indexes.list_tables()
    if db.bound:
        with db.transaction() as session:
            return indexes.build_missing(session.connection(), tables, concurrently=False)
    with indexes.index_builder(db, wait=wait) as builder:
        if builder is None:
            return []
        return indexes.build_missing(builder, tables, concurrently=True)


# --- export.list ------------------------------------------------------------------------------


@handler("export.list")
def run_export(ctx: TaskContext) -> dict:
    kind, fmt = ctx.params["kind"], ctx.params["format"]
    export_dir = Path(ctx.config["EXPORT_DIR"])
    export_dir.mkdir(parents=True, exist_ok=True)
    path = export_dir / exports.stored_name(ctx.task_id, fmt)
    ctx.progress(0, 0, "正在导出")
    with ctx.db.transaction(write=False) as session:
        actor = ctx.actor(session)
        with path.open("wb") as out:
            count = exports.write(session, actor, kind, ctx.params["filters"], fmt, out)
    return {  # no server path: the file is found again from EXPORT_DIR and the task id
        "rows": count,
        "kind": kind,
        "format": fmt,
        "filename": exports.download_name(
            exports.KINDS[kind].label, fmt, dt.datetime.now(dt.UTC), ctx.config["TIMEZONE"]
        ),
    }


# --- a task that failed for good ----------------------------------------------------------------


@tasks.on_failure("import.validate")
@tasks.on_failure("import.apply")
def batch_failed(session, task, reason: str) -> None:
    """The batch of an import task that failed for good (its worker died WORKER_MAX_ATTEMPTS
    times, as a file exhausting the memory makes it) fails too, its stage cleared, instead of
    staying 校验中 or 导入中 forever. An apply died before its commit: the registry is
    untouched."""
    import_id = task.parameters["import_id"]
    job = session.get(ImportJob, import_id)
    if job is None:
        return
    if job.status == ImportStatus.VALIDATING:
        jobs.reject_file(session, import_id, f"{reason}。请检查文件后重新上传", actor=None)
    elif jobs.fail_unfinished(session, import_id, f"{reason}。名录未作任何改动"):
        log.warning("import %s failed with its task %s: %s", import_id, task.id, reason)
