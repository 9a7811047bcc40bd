"""Exports of the registry lists to CSV (UTF-8 with BOM) and XLSX, as background tasks, and
the shared shape of every other table the console hands out (`Sheet`: a draw's list, the
review list, the 经营异常名录), written the same way and named in local time.

Cells that a spreadsheet would run as a formula are escaped (tabular.escape_cell). 身份证号 is
never exported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ... import tabular
from ...columns import INSPECTOR_STATUS_LABELS
from ...db import User
from ...errors import Invalid
from ..platform import tasks
from .imports import KINDS as IMPORT_KINDS
from .imports import LISTS as KINDS
from .records import (
    EntityFilters,
    search_conflicts,
    search_entities,
    search_inspectors,
    search_matters,
)

FORMATS = ("csv", "xlsx")
NEVER_EXPORTED = {"id_number"}
EXTRA = {"entities": (("last_checked_on", "最近检查日期"), ("check_count", "检查次数"))}


def _columns(kind: str) -> list[tuple[str, str]]:
    spec = KINDS[kind]
    columns = [(f.name, f.label) for f in spec.fields if f.name not in NEVER_EXPORTED]
    return columns + list(EXTRA.get(kind, ()))


def _query(actor: User, kind: str, filters: dict):
    if kind == "entities":
        return search_entities(actor, EntityFilters(**filters))
    if kind == "inspectors":
        return search_inspectors(actor, **filters)
    if kind == "matters":
        return search_matters(actor, **filters)
    return search_conflicts(actor, **filters)


def _cell(obj, kind: str, name: str):
    if kind == "conflicts" and name in ("cert_no", "uscc"):
        return obj.inspector.cert_no if name == "cert_no" else obj.entity.uscc
    value = getattr(obj, name)
    if kind == "inspectors" and name == "status":
        return INSPECTOR_STATUS_LABELS.get(value, value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def rows(session: Session, actor: User, kind: str, filters: dict):
    columns = _columns(kind)
    query = _query(actor, kind, filters).execution_options(yield_per=5000)
    for obj in session.scalars(query):
        yield [_cell(obj, kind, name) for name, _ in columns]


def write(session: Session, actor: User, kind: str, filters: dict, fmt: str, target) -> int:
    headers = [label for _, label in _columns(kind)]
    data = rows(session, actor, kind, filters)
    if fmt == "csv":
        return tabular.write_csv(target, headers, data)
    return tabular.write_xlsx(target, headers, data, sheet_name=KINDS[kind].label[:31])


FILTER_KEYS = {
    "entities": {f.name for f in dataclasses.fields(EntityFilters)},
    "inspectors": {"q", "status", "qualification"},
    "matters": {"q", "category"},
    "conflicts": {"inspector_id", "entity_id"},
}


def enqueue(session: Session, *, actor: User, kind: str, filters: dict, fmt: str):
    if kind not in KINDS or fmt not in FORMATS:
        raise Invalid("导出的名录或格式无效")
    unknown = set(filters) - FILTER_KEYS[kind]
    if unknown:
        raise Invalid("未知的筛选条件：" + "、".join(sorted(unknown)))
    return tasks.enqueue(
        session,
        kind="export.list",
        params={"kind": kind, "filters": filters, "format": fmt},
        actor=actor,
        department_id=actor.department_id,
    )


def stored_name(task_id: int, fmt: str) -> str:
    """The export file's name in EXPORT_DIR (never shown: clients get a download URL)."""
    return f"task-{task_id}.{fmt}"


def download_name(stem: str, fmt: str, at: dt.datetime, zone: str) -> str:
    """`<stem>-20261205-1930.xlsx`: the moment in the deployment's zone (TIMEZONE, Beijing
    time), as the pages show times; the stem's slashes and the like become dashes."""
    local = at.astimezone(ZoneInfo(zone))
    safe = _UNSAFE_NAME.sub("-", stem).strip(" .-") or "导出"
    return f"{safe}-{local.strftime('%Y%m%d-%H%M')}.{fmt}"


_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


@dataclasses.dataclass(frozen=True)
class Sheet:
    """A table to download (导出表格): its sheet title, the file name's stem, the headers and
    the rows, read when the file is written. `size` is the number of rows when it is known to
    be small (at most the caller's limit), else None: such a table is written by the worker."""

    title: str
    stem: str
    headers: list[str]
    rows: Callable[[], Iterable[Sequence]]
    size: int | None = None


def write_sheet(sheet: Sheet, fmt: str, target) -> int:
    """Write the sheet as CSV (UTF-8 with BOM) or XLSX, formulas escaped; the rows written."""
    if fmt not in FORMATS:
        raise Invalid("导出格式无效")
    if fmt == "csv":
        return tabular.write_csv(target, sheet.headers, sheet.rows())
    return tabular.write_xlsx(target, sheet.headers, sheet.rows(), sheet_name=sheet.title[:31])


# --- import templates --------------------------------------------------------------------------

HELP_HEADERS = ["列名", "是否必填", "填写要求", "也可使用的列名"]


def template(kind: str) -> tuple[str, list[str], list[list[str]]]:
    """An import template of a list (columns.py is its only source): the file's name without
    extension, its header row (required columns marked "*") and the 填写说明 rows (column,
    required, what a cell may hold, the other headers read as the same column)."""
    if kind not in IMPORT_KINDS:
        raise Invalid("没有这种名录")
    spec = IMPORT_KINDS[kind]
    headers = [f.template_header for f in spec.fields]
    notes = [
        [f.label, "必填" if f.required else "", f.hint, "、".join(f.other_headers)]
        for f in spec.fields
    ]
    return f"{spec.label}-导入模板", headers, notes


def write_template(kind: str, fmt: str, target) -> str:
    """Write the template as XLSX (the header row, then a 填写说明 sheet) or CSV (the header
    row alone, UTF-8 with BOM); returns the download name."""
    stem, headers, notes = template(kind)
    if fmt == "csv":
        tabular.write_csv(target, headers, [])
    elif fmt == "xlsx":
        label = IMPORT_KINDS[kind].label
        more = [("填写说明", HELP_HEADERS, notes)]
        tabular.write_xlsx(target, headers, [], sheet_name=label[:31], more=more)
    else:
        raise Invalid("导出格式无效")
    return f"{stem}.{fmt}"
