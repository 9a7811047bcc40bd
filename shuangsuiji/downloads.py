"""File downloads shared by the API and the console: rejected rows, finished exports, and the
console's sheets (a draw's list, the review list, the 经营异常名录): a small one at once, a
large one written by the worker."""

from __future__ import annotations

import io
from pathlib import Path

from flask import current_app, redirect, send_file, url_for

from . import tabular
from .db import utcnow
from .db.states import JobStatus
from .edge import actor, db_session, today
from .errors import NotFound
from .services.platform import tasks
from .services.registry import checklists, exports, imports
from .services.results import paperwork

EXPORT_KINDS = ("export.list", "export.sheet")  # task kinds that leave a file to download
MIMETYPES = {
    "csv": "text/csv",  # send_file adds "; charset=utf-8" to a text type itself
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def rejects_file(job, fmt: str):
    """The rejected rows of an import as a CSV or XLSX download: each row's own cells beside
    its number, columns and reasons, to be fixed and imported again (imports.rejects_table)."""
    headers, rows = imports.rejects_table(db_session(), job)
    buffer = io.BytesIO()
    if fmt == "csv":
        tabular.write_csv(buffer, headers, rows)
    else:
        tabular.write_xlsx(buffer, headers, rows, sheet_name="被拒绝的行")
    buffer.seek(0)
    name = f"{Path(job.filename).stem}-被拒绝的行.{fmt}"
    return send_file(buffer, mimetype=MIMETYPES[fmt], as_attachment=True, download_name=name)


def export_file(task_id: int):
    """The file a finished export task wrote, if the caller may see the task."""
    task = tasks.get_visible(db_session(), actor(), task_id)
    result = tasks.result_of(task)
    if task.kind not in EXPORT_KINDS or task.status != JobStatus.DONE or not result:
        raise NotFound("导出文件尚未生成")
    path = Path(current_app.config["EXPORT_DIR"]) / exports.stored_name(task.id, result["format"])
    if not path.is_file():
        raise NotFound("导出文件已不存在，请重新导出")
    return send_file(path, as_attachment=True, download_name=result["filename"])


def sheet_file(name: str, params: dict, fmt: str):
    """A sheet of results.paperwork.SHEETS for the caller: the file itself when it has at
    most EXPORT_INLINE_MAX_ROWS rows, else an export.sheet task and its page (a redirect)."""
    if fmt not in exports.FORMATS:
        raise NotFound("没有这种文件格式")
    config = current_app.config
    sheet = paperwork.sheet(
        db_session(), actor(), name, params, today=today(), limit=config["EXPORT_INLINE_MAX_ROWS"]
    )
    if sheet.size is None:
        task = paperwork.enqueue(db_session(), actor=actor(), name=name, params=params, fmt=fmt)
        return redirect(url_for("console.task_view", task_id=task.id))
    buffer = io.BytesIO()
    exports.write_sheet(sheet, fmt, buffer)
    buffer.seek(0)
    name = exports.download_name(sheet.stem, fmt, utcnow(), config["TIMEZONE"])
    return send_file(buffer, mimetype=MIMETYPES[fmt], as_attachment=True, download_name=name)


def template_file(kind: str, fmt: str):
    """The import template of a list as XLSX (with its 填写说明) or CSV."""
    if kind not in imports.KINDS:
        raise NotFound("没有这种名录")
    buffer = io.BytesIO()
    name = exports.write_template(kind, fmt, buffer)
    buffer.seek(0)
    return send_file(buffer, mimetype=MIMETYPES[fmt], as_attachment=True, download_name=name)


def checklist_file(checklist, matter):
    """A version of a matter's checklist as XLSX, in the columns an import reads back."""
    headers, rows = checklists.sheet(checklist)
    buffer = io.BytesIO()
    tabular.write_xlsx(buffer, headers, rows, sheet_name="检查表")
    buffer.seek(0)
    name = f"检查表-{matter.code}-第{checklist.version}版.xlsx"
    return send_file(buffer, mimetype=MIMETYPES["xlsx"], as_attachment=True, download_name=name)
