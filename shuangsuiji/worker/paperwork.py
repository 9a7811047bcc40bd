"""The handler writing a large sheet (export.sheet): a draw's list, the review list or the
经营异常名录 beyond EXPORT_INLINE_MAX_ROWS, into EXPORT_DIR as the registry exports are."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from ..services.registry import exports
from ..services.results import paperwork
from .handlers import TaskContext, handler


@handler("export.sheet")
def run_sheet_export(ctx: TaskContext) -> dict:
    name, fmt = ctx.params["sheet"], ctx.params["format"]
    export_dir = Path(ctx.config["EXPORT_DIR"])
    export_dir.mkdir(parents=True, exist_ok=True)
    path = export_dir / exports.stored_name(ctx.task_id, fmt)
    zone = ctx.config["TIMEZONE"]
    ctx.progress(0, 0, "正在导出")
    with ctx.db.transaction(write=False) as session:
        actor = ctx.actor(session)
        today = dt.datetime.now(ZoneInfo(zone)).date()
        sheet = paperwork.sheet(session, actor, name, ctx.params["params"], today=today)
        with path.open("wb") as out:
            count = exports.write_sheet(sheet, fmt, out)
    return {  # no server path: the file is found again from EXPORT_DIR and the task id
        "rows": count,
        "kind": name,
        "format": fmt,
        "filename": exports.download_name(sheet.stem, fmt, dt.datetime.now(dt.UTC), zone),
    }
