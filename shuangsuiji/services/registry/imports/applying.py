"""Applying a checked batch: its staged rows written into the list in one transaction.

Every function here flushes; the worker's task handler (worker/imports.py) owns the
transaction, and the index builds around it (indexes).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterator

from sqlalchemy import (
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
from sqlalchemy.schema import AddConstraint, DropConstraint, DropIndex

from ....db import ImportJob, User, utcnow
from ....db.states import ImportStatus
from ...platform import audit
from .jobs import Kind, clear_stage, kind_of, lock

log = logging.getLogger(__name__)


def mapped_columns(job: ImportJob, spec: Kind) -> list[str]:
    """The stored columns this file sets: its mapped fields (other columns keep their values)."""
    fields = [f for _header, f in job.column_mapping or []]
    if spec.name == "conflicts":
        fields = [f for f in fields if f not in ("cert_no", "uscc")] + list(spec.key)
    return [f for f in dict.fromkeys(fields) if f in spec.model.__table__.c]


def matches(spec: Kind, job: ImportJob):
    target, stage = spec.model.__table__, spec.stage
    return and_(
        target.c.department_id == job.department_id,
        *[target.c[k] == stage.c[k] for k in spec.key],
    )


def differs(spec: Kind, columns: list[str]):
    target, stage = spec.model.__table__, spec.stage
    data = [c for c in columns if c not in spec.key]
    if not data:
        return literal(False)
    return or_(*[target.c[c].is_distinct_from(stage.c[c]) for c in data])


def counts(session: Session, job: ImportJob) -> dict:
    spec = kind_of(job.kind)
    target, stage = spec.model.__table__, spec.stage
    columns = mapped_columns(job, spec)
    # One pass over the stage: every staged row, those matching a stored row, those changing it.
    matching = target.c.department_id  # not null on a stored row: NULL means no match
    staged, matched, changed = session.execute(
        select(
            func.count(),
            func.count(matching),
            func.count(matching).filter(differs(spec, columns)),
        )
        .select_from(stage)
        .outerjoin(target, matches(spec, job))
        .where(stage.c.import_id == job.id)
    ).one()
    return {"inserted": staged - matched, "updated": changed, "unchanged": matched - changed}


def insert_defaults(spec: Kind, now) -> dict:
    values = {}
    for column in spec.model.__table__.columns:
        if column.name in ("id",):
            continue
        if column.name in ("created_at", "updated_at"):
            values[column.name] = now
        elif column.default is not None and column.default.is_scalar:
            values[column.name] = column.default.arg
    return values


def write(
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
            .where(matches(spec, job), mine, differs(spec, columns))
            .values({**{c: stage.c[c] for c in data}, "updated_at": now})
        )
    if counts["inserted"] and not spec.updates_only:
        defaults = insert_defaults(spec, now)
        insert_columns = ["department_id", *columns]
        defaulted = [c for c in defaults if c not in insert_columns]
        selected = [literal(job.department_id)]
        for c in columns:
            default = defaults.get(c)
            selected.append(
                func.coalesce(stage.c[c], literal(default)) if default is not None else stage.c[c]
            )
        selected += [literal(defaults[c]) for c in defaulted]
        rows = select(*selected).where(mine, ~exists().where(matches(spec, job)))
        if ordered:
            rows = rows.order_by(stage.c.row_no)
        session.execute(target.insert().from_select(insert_columns + defaulted, rows))


@dataclasses.dataclass(frozen=True)
class Plan:
    """How an import writes its rows (PostgreSQL). `indexes`: the list's plain indexes
    (searches and filters, nothing that guards the data) are dropped before it, concurrently,
    and built after its commit, concurrently; nobody waits for them, and searches meanwhile
    scan the table. `constraints`: its unique and foreign-key constraints are set aside too,
    inside its transaction (which then locks the list until it commits)."""

    indexes: bool = False
    constraints: bool = False


def plan_for(session: Session, table: Table, inserting: int | None, min_rows: int) -> Plan:
    """Rebuilding costs less than maintaining row by row for a large insert: the plain
    indexes (GIN above all) from half the list's size on, the constraints from its size on."""
    if session.get_bind().dialect.name != "postgresql" or (inserting or 0) < min_rows:
        return Plan()
    rows = session.scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = CAST(:name AS regclass)"),
        {"name": table.name},
    )
    rows = max(rows or 0, 0)  # -1: never analysed
    return Plan(indexes=2 * inserting >= rows, constraints=inserting >= rows)


@contextlib.contextmanager
def set_aside(session: Session, table: Table, plan: Plan) -> Iterator[None]:
    """Drop the table's plain indexes, left to build after the commit (see Plan; already
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


def apply_staged(session: Session, import_id: int, plan: Plan, *, actor: User | None) -> dict:
    """Write the batch's staged rows into its list (or fail the batch, writing nothing, when
    the stage no longer matches its preview), and record it. The batch's row stays locked
    until the transaction ends: a cancel cannot slip in while it writes."""
    started = time.perf_counter()
    job = lock(session, import_id)
    if job.status != ImportStatus.APPLYING:  # applied before the worker stopped, and handed back
        return {"import_id": import_id, "status": job.status}
    spec = kind_of(job.kind)
    target, stage = spec.model.__table__, spec.stage
    columns = mapped_columns(job, spec)
    found = counts(session, job)
    log.info("import %s: counted in %.1f s", import_id, time.perf_counter() - started)
    staged = found["inserted"] + found["updated"] + found["unchanged"]
    error = None
    if staged != job.rows_valid:  # the stage is unlogged: a server crash empties it
        error = "暂存的校验结果已丢失（数据库服务曾重启），名录未作任何改动，请重新上传文件"
    elif spec.updates_only and found["inserted"]:
        # Entities changed their USCC since validation: nothing is written, say so.
        error = (
            f"{found['inserted']} 行的统一社会信用代码在校验后已不在本部门名录中，"
            "名录未作任何改动，请重新上传"
        )
    if error:
        clear_stage(session, job)
        job.status, job.error = ImportStatus.FAILED, error
        return {"import_id": import_id, "error": error}
    now = utcnow()
    with set_aside(session, target, plan) if plan.indexes else contextlib.nullcontext():
        write(session, job, spec, columns, found, now, ordered=not plan.indexes)
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
        found["inserted"],
        found["updated"],
        found["unchanged"],
    )
    job.status, job.applied_at = ImportStatus.DONE, utcnow()
    audit.record(
        session,
        actor=actor,
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
    return {"import_id": import_id, **found, "rejected": job.rejected}
