"""Console page of statistics (统计分析): rates, result distribution, estimated problem rates,
with bar charts drawn as inline SVG and every table downloadable as CSV or XLSX."""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import Blueprint, Response, render_template, request

from .. import tabular
from ..access import OVERSEERS, allow
from ..edge import actor, db_session, today
from ..errors import Invalid, NotFound
from ..services.accounts import departments
from ..services.results import statistics
from ..services.scope import reads_all

bp = Blueprint("console_statistics", __name__, url_prefix="/console")

READERS = OVERSEERS
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _query() -> tuple[int, int | None]:
    """The year and department asked for, checked (a bad value is a Chinese error)."""
    user = actor()
    raw_year = request.args.get("year") or str(today().year)
    if not (raw_year.isascii() and raw_year.isdigit()) or not 2000 <= int(raw_year) <= 2099:
        raise Invalid("年份有误", errors={"year": ["请填写 2000 至 2099 之间的年份"]})
    raw_dept = request.args.get("department_id") or ""
    department_id = None
    if raw_dept:
        if not (raw_dept.isascii() and raw_dept.isdigit()):
            raise Invalid("部门有误", errors={"department_id": ["请选择部门"]})
        department_id = int(raw_dept)
        visible = {d.id for d in departments.list_visible(db_session(), user)}
        if department_id not in visible:
            raise NotFound("部门不存在")
    return int(raw_year), department_id


@bp.route("/statistics")
@allow(*READERS)
def statistics_page():
    user = actor()
    year, department_id = _query()
    report = statistics.report(db_session(), user, year=year, department_id=department_id)
    return render_template(
        "console/statistics.html",
        report=report,
        year=year,
        department_id=department_id,
        departments=departments.list_visible(db_session(), user) if reads_all(user) else [],
        tables=statistics.tables(report),
    )


@bp.route("/statistics/export")
@allow(*READERS)
def statistics_export():
    year, department_id = _query()
    name = request.args.get("table", "rates")
    fmt = request.args.get("format", "xlsx")
    report = statistics.report(db_session(), actor(), year=year, department_id=department_id)
    found = statistics.tables(report)
    if name not in found or fmt not in MIMETYPES:
        raise NotFound("没有这张统计表")
    title, headers, rows = found[name]
    buffer = io.BytesIO()
    if fmt == "csv":
        tabular.write_csv(buffer, headers, rows)
    else:
        tabular.write_xlsx(buffer, headers, rows, sheet_name=title)
    filename = f"{year}年{title}.{fmt}"
    return Response(
        buffer.getvalue(),
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )
