"""Paperwork of a draw (抽取名单): the list of drawn entities with their teams and the
inspectors' contacts as a table, and every 检查通知书 of the draw at once for printing.

What a reader gets is what the draw page shows them: a participant of a joint plan sees its
own members of each team and no credit-risk class (draws.teams with the viewer). An
inspector's mobile number and e-mail address are personal data: they are given in clear only
to those who administer the inspector's department (scope.sees_contacts), masked otherwise
(as the audit trail masks them, platform/redaction).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from ... import refdata
from ...db import Draw, Inspector, User
from ...errors import Invalid, NotFound
from ..platform.redaction import mask
from ..registry.exports import Sheet
from ..scope import sees_contacts, sees_strata
from . import draws, settings

_CHUNK = 500
NOTICES_MAX = 2000  # notices on one print page; a larger draw is printed a range at a time
OTHER_DEPARTMENT = "（其他部门人员）"
UNSTAFFED = "（暂缺）"


def _contact(actor: User, inspector: Inspector, value: str | None, kind: str) -> str:
    if not value:
        return ""
    return value if sees_contacts(actor, inspector.department_id) else mask(kind, value)


def _member_cells(actor: User, member: draws.Member) -> list:
    inspector = member.inspector
    if inspector is None:
        name = OTHER_DEPARTMENT if member.hidden else UNSTAFFED
        return [name, "", "", "", ""]
    name = inspector.name + ("（替换）" if member.replaced else "")
    return [
        name,
        inspector.cert_no,
        inspector.department.name,
        _contact(actor, inspector, inspector.mobile, "phone"),
        _contact(actor, inspector, inspector.email, "email"),
    ]


def _region(code: str | None) -> str:
    if not code:
        return ""
    name = refdata.region_name(code)
    return f"{code} {name}" if name else code


def draw_sheet(session: Session, actor: User, draw_id: int, *, limit: int = 0) -> Sheet:
    """抽取名单: one row per drawn entity in processing order, its team member by member
    (name, 执法证号, department, mobile, e-mail), the class and rank for the lead's readers.
    Its size is given when the draw has at most `limit` entities."""
    draw = draws.get(session, actor, draw_id)
    plan = draw.plan
    whole = sees_strata(actor, plan.department_id)
    summary = draw.summary_doc
    headers = ["序号", "统一社会信用代码", "企业名称", "住所", "行政区划", "管辖单位", "片区"]
    if whole:
        headers += ["信用风险分类", "类内排名"]
    for n in range(1, summary.slots + 1):
        headers += [
            f"检查人员{n}",
            f"检查人员{n}执法证号",
            f"检查人员{n}所在部门",
            f"检查人员{n}手机号码",
            f"检查人员{n}电子邮箱",
        ]

    def rows() -> Iterator[list]:
        total = draws.count_drawn(session, draw)
        for offset in range(0, total, _CHUNK):
            for row in draws.teams(session, draw, offset=offset, limit=_CHUNK, viewer=actor):
                entity = row.entity
                cells = [
                    row.drawn.position + 1,
                    row.drawn.uscc,
                    entity.name,
                    entity.address or "",
                    _region(entity.region_code),
                    entity.supervising_unit or "",
                    entity.grid or "",
                ]
                if whole:
                    stratum = row.drawn.stratum
                    cells += [settings.STRATUM_LABELS.get(stratum, stratum), row.drawn.rank]
                for member in row.members:
                    cells += _member_cells(actor, member)
                yield cells

    suffix = f"-{draw.batch_key}" if draw.batch_key else ""
    return Sheet(
        title="抽取名单",
        stem=f"抽取名单-{plan.code}{suffix}",
        headers=headers,
        rows=rows,
        size=total if (total := draws.count_drawn(session, draw)) <= limit else None,
    )


def notice_range(draw: Draw, first: int | None, last: int | None) -> tuple[int, int]:
    """The 1-based, inclusive range of drawn entities to print (the whole draw by default),
    at most NOTICES_MAX of them; Invalid for a range outside the draw."""
    total = draw.summary_doc.drawn
    first = 1 if first is None else first
    last = min(total, first + NOTICES_MAX - 1) if last is None else last
    if total == 0 or not 1 <= first <= last <= total:
        raise Invalid(f"序号范围应在 1 至 {total} 之间")
    if last - first + 1 > NOTICES_MAX:
        raise Invalid(f"一次最多打印 {NOTICES_MAX} 份检查通知书，请分段打印")
    return first, last


def notices(session: Session, actor: User, draw_id: int, first: int | None, last: int | None):
    """Every 检查通知书 of the draw (or of a range of it) for one print page: the draw, the
    range printed, and the drawn entities with their whole teams (what the firm is shown).
    Only the notices the reader may open one by one (draws.notice): a participating
    department of a joint plan prints those of the teams its reader is on, if any."""
    draw = draws.get(session, actor, draw_id)
    first, last = notice_range(draw, first, last)
    rows: list[draws.TeamRow] = []
    for offset in range(first - 1, last, _CHUNK):
        limit = min(_CHUNK, last - offset)
        found = draws.teams(session, draw, offset=offset, limit=limit, viewer=actor)
        rows += [row for row in found if row.whole]
    if not rows:
        raise NotFound("抽中对象不存在")
    return {"draw": draw, "plan": draw.plan, "rows": rows, "first": first, "last": last}
