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
from ..services.results import statistics

bp = Blueprint("console_statistics", __name__, url_prefix="/console")

READERS = OVERSEERS
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _year(name: str, default: str) -> int:
    raw = request.args.get(name) or default
    if not (raw.isascii() and raw.isdigit()) or not 2000 <= int(raw) <= 2099:
        raise Invalid("年份有误", errors={name: ["请填写 2000 至 2099 之间的年份"]})
    return int(raw)


def _query() -> tuple[int, int, int | None]:
    """The years and the department asked for, checked (a bad value is a Chinese error)."""
    year = _year("year", str(today().year))
    to_year = _year("to_year", str(year))
    if not year <= to_year < year + statistics.MAX_YEARS:
        raise Invalid(
            "年份范围有误",
            errors={"to_year": [f"截止年份须不早于起始年份，且最多 {statistics.MAX_YEARS} 年"]},
        )
    raw_dept = request.args.get("department_id") or ""
    department_id = None
    if raw_dept:
        if not (raw_dept.isascii() and raw_dept.isdigit()):
            raise Invalid("部门有误", errors={"department_id": ["请选择部门"]})
        department_id = int(raw_dept)
        if department_id not in {d.id for d in statistics.departments_of(db_session(), actor())}:
            raise NotFound("部门不存在")
    return year, to_year, department_id


@bp.route("/statistics")
@allow(*READERS)
def statistics_page():
    user = actor()
    year, to_year, department_id = _query()
    report = statistics.report(
        db_session(), user, year=year, to_year=to_year, department_id=department_id
    )
    choices = statistics.departments_of(db_session(), user)
    return render_template(
        "console/statistics.html",
        report=report,
        year=year,
        to_year=to_year,
        department_id=department_id,
        departments=choices if len(choices) > 1 else [],
        tables=statistics.tables(report),
        method=statistics.method_note,
        interval=statistics.interval,
        min_inspected=statistics.estimate.MIN_INSPECTED,
    )


@bp.route("/statistics/export")
@allow(*READERS)
def statistics_export():
    year, to_year, department_id = _query()
    name = request.args.get("table", "rates")
    fmt = request.args.get("format", "xlsx")
    report = statistics.report(
        db_session(), actor(), year=year, to_year=to_year, department_id=department_id
    )
    found = statistics.tables(report)
    if name not in found or fmt not in MIMETYPES:
        raise NotFound("没有这张统计表")
    title, headers, rows = found[name]
    buffer = io.BytesIO()
    if fmt == "csv":
        tabular.write_csv(buffer, headers, rows)
    else:
        tabular.write_xlsx(buffer, headers, rows, sheet_name=title)
    filename = f"{report.span}年{title}.{fmt}"
    return Response(
        buffer.getvalue(),
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )
