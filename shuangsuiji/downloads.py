"""File downloads shared by the API and the console: rejected rows, finished exports."""

from __future__ import annotations

import io
from pathlib import Path

from flask import current_app, send_file

from . import tabular
from .db.states import JobStatus
from .edge import actor, db_session
from .errors import NotFound
from .services.platform import tasks
from .services.registry import exports, imports

REJECT_HEADERS = ["行号", "列", "内容", "原因"]


def rejects_file(job, fmt: str):
    """The rejected rows of an import as a CSV or XLSX download."""
    rows = [[r.row_no, r.column, r.value, r.reason] for r in imports.rejects(db_session(), job)]
    buffer = io.BytesIO()
    if fmt == "csv":
        tabular.write_csv(buffer, REJECT_HEADERS, rows)
        mimetype = "text/csv"  # send_file adds "; charset=utf-8" to a text type itself
    else:
        tabular.write_xlsx(buffer, REJECT_HEADERS, rows, sheet_name="被拒绝的行")
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    buffer.seek(0)
    name = f"{Path(job.filename).stem}-被拒绝的行.{fmt}"
    return send_file(buffer, mimetype=mimetype, as_attachment=True, download_name=name)


def export_file(task_id: int):
    """The file a finished export task wrote, if the caller may see the task."""
    task = tasks.get_visible(db_session(), actor(), task_id)
    result = tasks.result_of(task)
    if task.kind != "export.list" or task.status != JobStatus.DONE or not result:
        raise NotFound("导出文件尚未生成")
    path = Path(current_app.config["EXPORT_DIR"]) / exports.stored_name(task.id, result["format"])
    if not path.is_file():
        raise NotFound("导出文件已不存在，请重新导出")
    return send_file(path, as_attachment=True, download_name=result["filename"])
