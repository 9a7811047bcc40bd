"""`shuangsuiji import …` and `shuangsuiji export …`: the registries from the command line.

An import from the command line goes through the same pipeline as the console (validation,
preview counts, one transaction), recorded the same way, and runs in this process.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from .. import tabular
from ..db import Department, ImportJob, User
from ..db.states import ImportStatus
from ..services.registry import exports, imports
from ..worker import Worker


def _db():
    return current_app.extensions["shuangsuiji.db"]


def _actor(session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"用户 {username} 不存在")
    return user


def _department(session, code: str | None, user: User) -> int:
    if code is None:
        if user.department_id is None:
            raise click.ClickException("请用 --department 指定部门代码")
        return user.department_id
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise click.ClickException(f"部门 {code} 不存在")
    return department.id


def _progress(done: int, total: int, message: str) -> None:
    click.echo(f"\r  {message}" + " " * 10, nl=False, err=True)


def run_task(task_id: int, *, quiet: bool = False) -> None:
    progress = None if quiet else _progress
    Worker(_db(), current_app.config, name="cli", on_progress=progress).run_one(task_id)
    if not quiet:
        click.echo("", err=True)


@dataclass(frozen=True)
class ImportOptions:
    """How `import_file` reads the file and deals with the operator."""

    encoding: str | None = None  # the CSV encoding; None: BOM → UTF-8 → GB18030
    sheet: str | None = None  # the Excel sheet; None: the first non-empty one
    ask: bool = False  # ask before applying, after the preview
    rejects_path: Path | None = None  # write the rejected rows there (CSV or XLSX)
    quiet: bool = False  # no progress and no summaries


def import_file(
    path: Path,
    *,
    kind: str,
    username: str,
    department_code: str | None,
    options: ImportOptions = ImportOptions(),  # frozen, so one shared default is safe
) -> ImportJob:
    """Upload, validate, preview and (unless declined) apply one file, in this process."""
    quiet = options.quiet
    with _db().transaction() as session, path.open("rb") as source:
        user = _actor(session, username)
        job = imports.create(
            session,
            actor=user,
            department_id=_department(session, department_code, user),
            kind=kind,
            filename=path.name,
            source=source,
            config=current_app.config,
            reading=imports.Reading(encoding=options.encoding, sheet=options.sheet),
        )
        job_id, task_id = job.id, job.task_id
    run_task(task_id, quiet=quiet)
    with _db().transaction(write=False) as session:
        job = session.get(ImportJob, job_id)
        if not quiet:
            _summary(job)
        if options.rejects_path is not None and job.rejected:
            _write_rejects(session, job, options.rejects_path)
    if job.status != ImportStatus.READY:
        return job
    if options.ask and not click.confirm("确认写入名录？", default=False):
        with _db().transaction() as session:
            return imports.cancel(session, actor=_actor(session, username), import_id=job_id)
    with _db().transaction() as session:
        task_id = imports.confirm(
            session, actor=_actor(session, username), import_id=job_id
        ).task_id
    run_task(task_id, quiet=quiet)
    with _db().transaction(write=False) as session:
        job = session.get(ImportJob, job_id)
        if not quiet:
            _summary(job)
    return job


@click.command("import")
@click.argument("kind", type=click.Choice(sorted(imports.KINDS)))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--as",
    "username",
    default="admin",
    show_default=True,
    help="The user the import is recorded for (a department admin or the admin).",
)
@click.option("--department", help="Department code (default: the user's department).")
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "gb18030", "gbk", "utf-16"]),
    help="CSV encoding (default: BOM → UTF-8 → GB18030).",
)
@click.option("--sheet", help="Excel sheet name (default: the first non-empty one).")
@click.option("--yes", is_flag=True, help="Apply without asking after the preview.")
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the rejected rows to this CSV or XLSX file.",
)
@with_appcontext
def import_command(kind, path, username, department, encoding, sheet, yes, rejects_path):
    """Import PATH into the KIND list: validate, show the preview, apply in one transaction."""
    job = import_file(
        path,
        kind=kind,
        username=username,
        department_code=department,
        options=ImportOptions(
            encoding=encoding, sheet=sheet, ask=not yes, rejects_path=rejects_path
        ),
    )
    if job.status == ImportStatus.CANCELLED:
        click.echo("已取消，名录未作改动。")
    elif job.status != ImportStatus.DONE:
        sys.exit(1)


def _summary(job: ImportJob) -> None:
    if job.status == ImportStatus.FAILED:
        click.echo(f"导入批次 #{job.id} 失败：{job.error}", err=True)
        return
    verb = "" if job.status == ImportStatus.DONE else "（预计）"
    click.echo(
        f"导入批次 #{job.id} [{imports.STATUS_LABELS[job.status]}] 读取 {job.rows_read} 行："
        f"新增{verb} {job.inserted}，更新{verb} {job.updated}，未变 {job.unchanged}，"
        f"拒绝 {job.rejected}" + (f"，空行 {job.blank_rows}" if job.blank_rows else "")
    )


def _write_rejects(session, job: ImportJob, target: Path) -> None:
    headers, rows = imports.rejects_table(session, job)
    with target.open("wb") as out:
        if target.suffix.lower() == ".xlsx":
            tabular.write_xlsx(out, headers, rows)
        else:
            tabular.write_csv(out, headers, rows)
    click.echo(f"被拒绝的行已写入 {target}")


@click.command("export")
@click.argument("kind", type=click.Choice(sorted(imports.LISTS)))
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--as", "username", default="admin", show_default=True)
@with_appcontext
def export_command(kind, path, username):
    """Export the KIND list the user may read to PATH (.csv or .xlsx)."""
    fmt = "xlsx" if path.suffix.lower() == ".xlsx" else "csv"
    with _db().transaction(write=False) as session, path.open("wb") as out:
        count = exports.write(session, _actor(session, username), kind, {}, fmt, out)
    click.echo(f"已导出 {count} 行到 {path}")
