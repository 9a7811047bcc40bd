"""检查表: each matter's checklist, versioned.

A department administrator of the matter's department publishes a new version; it supersedes
the last, which is kept unchanged (the tables are append-only), so whatever used a version can
always show it. Each item names what is checked (检查内容), how (检查方法), under which article
(检查依据), what counts as compliant (判定标准), whether it is required, and the result codes a
不符合 proposes (domain/result_codes.py). The items of the versions in force are public rules.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import tabular
from ...db import ChecklistItem, Matter, MatterChecklist, User
from ...db.states import CHECK_METHOD_LABELS, CheckMethod
from ...domain import result_codes as rc
from ...errors import Conflict, Invalid, NotFound
from ...sizes import NOTE_TEXT
from ..pages import Keyset, Order, keyset
from ..platform import audit
from ..scope import require_admin_of
from . import records

MAX_ITEMS = 200
CONTENT_MAX = 500
BASIS_MAX = 500

# The versions of one matter's checklist, newest first.
VERSION_ORDER: Order = ((MatterChecklist.version, True), (MatterChecklist.id, True))

# The result codes a 不符合 may propose: the problems (under 发现问题待后续处理), 发现问题经
# 责令已改正 and 不配合检查情节严重; never 未发现问题 nor the entity's own state (closed, gone).
PROBLEM_CODES = tuple(
    c.code for c in rc.RESULT_CODES if rc.PENDING in rc.ancestors(c.code) or c.code in ("E", "8")
)

_METHOD_BY_TEXT = {
    **{m.value: m for m in CheckMethod},
    **{v: k for k, v in CHECK_METHOD_LABELS.items()},
}
_TRUE = {"true", "1", "是", "必查", "yes", "y"}
_FALSE = {"false", "0", "否", "选查", "no", "n"}


def method_label(method: str) -> str:
    return CHECK_METHOD_LABELS.get(method, method)


def matter_of(session: Session, actor: User, matter_id: int) -> Matter:
    """The matter if the actor may read it (another department's is not found)."""
    return records.get(session, actor, "matters", matter_id)


def current(session: Session, matter_id: int) -> MatterChecklist | None:
    """The version in force: the newest."""
    return session.scalar(
        select(MatterChecklist)
        .where(MatterChecklist.matter_id == matter_id)
        .order_by(MatterChecklist.version.desc())
        .limit(1)
    )


def versions(
    session: Session, actor: User, matter_id: int, *, cursor: str | None = None, limit: int = 20
) -> Keyset:
    """One page of the matter's versions, newest first."""
    matter = matter_of(session, actor, matter_id)
    query = select(MatterChecklist).where(MatterChecklist.matter_id == matter.id)
    return keyset(session, query, VERSION_ORDER, cursor=cursor, limit=limit)


def current_of(session: Session, actor: User, matter_id: int) -> MatterChecklist:
    """The version in force of a matter the actor may read; NotFound when it has none."""
    matter = matter_of(session, actor, matter_id)
    found = current(session, matter.id)
    if found is None:
        raise NotFound("该抽查事项尚无检查表")
    return found


def get_version(session: Session, actor: User, matter_id: int, version: int) -> MatterChecklist:
    matter = matter_of(session, actor, matter_id)
    found = session.scalar(
        select(MatterChecklist).where(
            MatterChecklist.matter_id == matter.id, MatterChecklist.version == version
        )
    )
    if found is None:
        raise NotFound("检查表版本不存在")
    return found


def current_of_matters(session: Session, matter_ids: Iterable[int]) -> dict[int, MatterChecklist]:
    """Each matter's version in force, by matter id (the public matter list shows their items:
    they are public rules, like the matters themselves)."""
    ids = list(matter_ids)
    if not ids:
        return {}
    newest = (
        select(MatterChecklist.matter_id, func.max(MatterChecklist.version).label("version"))
        .where(MatterChecklist.matter_id.in_(ids))
        .group_by(MatterChecklist.matter_id)
        .subquery()
    )
    rows = session.scalars(
        select(MatterChecklist).join(
            newest,
            (MatterChecklist.matter_id == newest.c.matter_id)
            & (MatterChecklist.version == newest.c.version),
        )
    )
    return {c.matter_id: c for c in rows}


# -- a new version ---------------------------------------------------------------------------


def _text(raw: Mapping, name: str, limit: int, errors: dict, key: str, *, required: bool):
    value = raw.get(name)
    value = "" if value is None else str(value).strip()
    if not value:
        if required:
            errors.setdefault(f"{key}.{name}", []).append("不能为空")
        return None
    if len(value) > limit:
        errors.setdefault(f"{key}.{name}", []).append(f"不能超过 {limit} 个字")
        return None
    return value


def _method(raw: Mapping, errors: dict, key: str) -> str | None:
    text = str(raw.get("method") or "").strip()
    method = _METHOD_BY_TEXT.get(text)
    if method is None:
        options = "、".join(CHECK_METHOD_LABELS.values())
        errors.setdefault(f"{key}.method", []).append(f"检查方法应为：{options}")
        return None
    return method.value


def _required(raw: Mapping, errors: dict, key: str) -> bool:
    value = raw.get("required", True)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or not text:  # required unless said otherwise
        return True
    if text in _FALSE:
        return False
    errors.setdefault(f"{key}.required", []).append("是否必查应填“是”或“否”")
    return True


def _codes(raw: Mapping, errors: dict, key: str) -> str | None:
    value = raw.get("codes")
    if isinstance(value, str):
        selected = [c.strip() for c in value.replace("，", ",").replace("、", ",").split(",")]
    elif isinstance(value, list | tuple):
        selected = [str(c).strip() for c in value]
    else:
        selected = []
    selected = list(dict.fromkeys(c for c in selected if c))
    field = f"{key}.codes"
    if not selected:
        errors.setdefault(field, []).append("请选择不符合时对应的检查结果代码")
        return None
    unknown = [c for c in selected if c not in rc.BY_CODE]
    if unknown:
        errors.setdefault(field, []).append(f"未知的检查结果代码：{'、'.join(unknown)}")
        return None
    wrong = [c for c in selected if c not in PROBLEM_CODES]
    if wrong:
        labels = "、".join(f"{c} {rc.BY_CODE[c].label}" for c in wrong)
        errors.setdefault(field, []).append(f"不符合不能对应以下检查结果：{labels}")
        return None
    _normalised, problems = rc.check_codes(selected)
    if problems:
        errors.setdefault(field, []).extend(problems)
        return None
    return ",".join(sorted(selected, key=rc.ORDER.get))


def parse_items(raw_items) -> list[dict]:
    """The items as stored, in the order given; Invalid names every problem per field
    (`entries.<n>.<field>`, n counting from 1 as the form and the sheet show them)."""
    if not isinstance(raw_items, list | tuple) or not raw_items:
        raise Invalid("检查表至少需要一个检查项", errors={"entries": ["至少需要一个检查项"]})
    if len(raw_items) > MAX_ITEMS:
        raise Invalid(f"检查项不能超过 {MAX_ITEMS} 项", errors={"entries": ["检查项过多"]})
    errors: dict[str, list[str]] = {}
    items, seen = [], {}
    for n, raw in enumerate(raw_items, start=1):
        key = f"entries.{n}"
        if not isinstance(raw, Mapping):
            errors[key] = ["格式有误"]
            continue
        item = {
            "position": n,
            "content": _text(raw, "content", CONTENT_MAX, errors, key, required=True),
            "method": _method(raw, errors, key),
            "basis": _text(raw, "basis", BASIS_MAX, errors, key, required=True),
            "criterion": _text(raw, "criterion", NOTE_TEXT, errors, key, required=False),
            "required": _required(raw, errors, key),
            "codes": _codes(raw, errors, key),
        }
        if item["content"] is not None:
            if item["content"] in seen:
                errors.setdefault(f"{key}.content", []).append(
                    f"与第 {seen[item['content']]} 项的检查内容重复"
                )
            seen.setdefault(item["content"], n)
        items.append(item)
    if errors:
        raise Invalid("检查表填写有误", errors=errors)
    return items


def snapshot(checklist: MatterChecklist) -> dict:
    return {
        "matter_id": checklist.matter_id,
        "version": checklist.version,
        "note": checklist.note,
        "items": [
            {
                "content": i.content,
                "method": i.method,
                "basis": i.basis,
                "criterion": i.criterion,
                "required": i.required,
                "codes": i.codes,
            }
            for i in checklist.items
        ],
    }


def create_version(
    session: Session,
    *,
    actor: User,
    matter_id: int,
    items,
    note: str | None = None,
    based_on: int | None = None,
) -> MatterChecklist:
    """Publish a new version of the matter's checklist. `based_on` is the version the editor
    started from (None: the first): if another version was published meanwhile, Conflict."""
    matter = matter_of(session, actor, matter_id)
    require_admin_of(actor, matter.department_id)
    parsed = parse_items(items)
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_TEXT:
        raise Invalid("修订说明过长", errors={"note": [f"不能超过 {NOTE_TEXT} 个字"]})
    # Two editors publishing at once: the second waits here and numbers after the first.
    session.execute(select(Matter.id).where(Matter.id == matter.id).with_for_update())
    latest = current(session, matter.id)
    latest_version = latest.version if latest is not None else None
    if based_on is not None and based_on != latest_version:
        raise Conflict(
            f"检查表已有新版本（第 {latest_version} 版），请在最新版本上修改",
            errors={"based_on": ["不是最新版本"]},
        )
    checklist = MatterChecklist(
        matter_id=matter.id,
        department_id=matter.department_id,
        version=(latest_version or 0) + 1,
        note=note,
        created_by_id=actor.id,
    )
    checklist.items = [ChecklistItem(**item) for item in parsed]
    session.add(checklist)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="checklists.create",
        object_type="matter_checklist",
        object_id=checklist.id,
        before={"version": latest_version} if latest_version else None,
        after=snapshot(checklist),
        department_id=matter.department_id,
    )
    return checklist


# -- Excel -----------------------------------------------------------------------------------

# The sheet's columns: (header, item field). The same columns are read back by an import.
SHEET_COLUMNS = (
    ("检查内容", "content"),
    ("检查方法", "method"),
    ("检查依据", "basis"),
    ("判定标准", "criterion"),
    ("必查", "required"),
    ("不符合时的检查结果代码", "codes"),
)
# A checklist sheet is small: anything larger is not one.
SHEET_LIMITS = tabular.Limits(
    max_bytes=2 * tabular.MiB,
    max_unpacked_bytes=20 * tabular.MiB,
    max_zip_entries=200,
    max_rows=MAX_ITEMS,
    max_columns=50,
    max_sheet_cells=200_000,  # the box calamine allocates: a few MB
)


def sheet(checklist: MatterChecklist) -> tuple[list[str], list[list[str]]]:
    """The version as a sheet's headers and rows (methods by name, 是/否, codes joined)."""
    rows = [
        [
            i.content,
            method_label(i.method),
            i.basis,
            i.criterion or "",
            "是" if i.required else "否",
            "、".join(i.code_list),
        ]
        for i in checklist.items
    ]
    return [header for header, _ in SHEET_COLUMNS], rows


def items_from_file(path: Path, filename: str) -> list[dict]:
    """The rows of an uploaded sheet (XLSX, XLS or CSV, read with tabular's checks) as raw
    items for create_version; FileRejected or Invalid names what is wrong."""
    with tabular.open_table(path, filename=filename, limits=SHEET_LIMITS) as table:
        wanted = {tabular.normalise_header(h): name for h, name in SHEET_COLUMNS}
        found = {}
        for index, header in enumerate(table.headers):
            name = wanted.get(tabular.normalise_header(header))
            if name is not None:
                found.setdefault(name, index)
        missing = [h for h, name in SHEET_COLUMNS if name not in found and name != "criterion"]
        if missing:
            raise tabular.FileRejected(f"缺少列：{'、'.join(missing)}（请使用导出的检查表格式）")
        items = []
        for _number, cells in table:
            item = {name: cells[i] if i < len(cells) else "" for name, i in found.items()}
            items.append(item)
    return items


def items_from_upload(stream, filename: str) -> list[dict]:
    """items_from_file for an upload's stream: copied to a temporary file, refused past
    SHEET_LIMITS.max_bytes before more is read."""
    if not filename:
        raise Invalid("请选择要导入的检查表文件", errors={"file": ["请选择文件"]})
    limit = SHEET_LIMITS.max_bytes
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checklist"
        size = 0
        with path.open("wb") as out:
            while chunk := stream.read(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise Invalid(
                        f"检查表文件不能超过 {limit // tabular.MiB} MB",
                        errors={"file": ["文件过大"]},
                    )
                out.write(chunk)
        return items_from_file(path, filename)
