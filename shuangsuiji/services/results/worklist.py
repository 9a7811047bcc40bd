"""An inspector's work list (我的检查任务): every visit they hold, with the state of its
inspection record and its fieldwork window, the day's work first.

The list of the tasks still open (plans not closed) is ordered for the day in the field:

    今天可检查 (the window is open today, or undated, and there is something to enter)
    → 已过检查时间 (the window has ended, nothing handed over yet)
    → 尚未开始 (the window opens later)
    → 已提交审核 → 已公示 (nothing left for the inspector to do)

and within a group by the window's last day, then the newest draw. The finished ones (closed
plans) are listed by year, newest draw first. A page costs a fixed number of queries however
many tasks there are (the inspector, their assignments and replacements, the draws with their
plans, the records' states, then the page's entities and teams): no query per row.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from enum import IntEnum

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from ...db import Draw, InspectionRecord, Plan, User
from ...db.states import RecordStatus
from ...errors import Invalid
from ..pages import Keyset
from ..plans import draws
from .deadlines import window

# What the inspector sees of a record; no record at all is 未录入.
STATUS_LABELS = {
    None: "未录入",
    RecordStatus.DRAFT: "草稿",
    RecordStatus.SUBMITTED: "待审核",
    RecordStatus.RETURNED: "退回",
    RecordStatus.REJECTED: "不通过",
    RecordStatus.PUBLISHED: "已公示",
}
OPEN_STATES = (None, RecordStatus.DRAFT, RecordStatus.RETURNED, RecordStatus.REJECTED)


class Group(IntEnum):
    """Where a task stands on the day, in the order the list shows them."""

    TODAY = 0
    LATE = 1
    LATER = 2
    SUBMITTED = 3
    PUBLISHED = 4


GROUP_LABELS = {
    Group.TODAY: "今天可检查",
    Group.LATE: "已过检查时间，尚未提交",
    Group.LATER: "尚未到检查时间",
    Group.SUBMITTED: "已提交，等待审核",
    Group.PUBLISHED: "已公示",
}
_NO_DAY = dt.date.max.toordinal()


@dataclass
class Card:
    """One visit of the inspector: the firm, where and when, and how far its record is."""

    draw: Draw
    plan: Plan
    row: draws.TeamRow
    slot: int
    status: RecordStatus | None  # None: no record yet (未录入)
    start: dt.date | None  # the fieldwork window (a recurring batch: its period)
    end: dt.date | None
    group: Group

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def group_label(self) -> str:
        return GROUP_LABELS[self.group]

    @property
    def actionable(self) -> bool:
        return self.status in OPEN_STATES


def group_of(
    status: RecordStatus | None, start: dt.date | None, end: dt.date | None, today: dt.date
) -> Group:
    if status == RecordStatus.PUBLISHED:
        return Group.PUBLISHED
    if status == RecordStatus.SUBMITTED:
        return Group.SUBMITTED
    if start is not None and today < start:
        return Group.LATER
    if end is not None and today > end:
        return Group.LATE
    return Group.TODAY


def _statuses(session: Session, pairs) -> dict[tuple[int, int], RecordStatus]:
    pairs = sorted(set(pairs))
    if not pairs:
        return {}
    rows = session.execute(
        select(InspectionRecord.draw_id, InspectionRecord.position, InspectionRecord.status).where(
            tuple_(InspectionRecord.draw_id, InspectionRecord.position).in_(pairs)
        )
    )
    return {(d, p): RecordStatus(s) for d, p, s in rows}


# -- the cursor: the sort values of the last card shown ----------------------------------------


def _encode(finished: bool, values: tuple[int, ...]) -> str:
    raw = json.dumps({"f": finished, "v": list(values)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(finished: bool, cursor: str) -> tuple[int, ...]:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii"))
        document = json.loads(raw)
        values = document["v"]
        if document["f"] is not finished or len(values) != 5:
            raise ValueError("another list")
        if not all(type(v) is int for v in values):
            raise ValueError("not a position")
        return tuple(values)
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error) as exc:
        message = "无效的分页游标，请从第一页重新开始"
        raise Invalid("分页游标无效", errors={"cursor": [message]}) from exc


def page(
    session: Session,
    actor: User,
    inspector_id: int,
    *,
    today: dt.date,
    cursor: str | None,
    limit: int,
    finished: bool = False,
    year: int | None = None,
) -> Keyset:
    """One page of the inspector's cards after `cursor`: the open tasks for the day's work,
    or (`finished`) those of closed plans, of one `year`, newest draw first."""
    keys = draws.held(session, actor, inspector_id, finished=finished, year=year)
    found = draws.draws_with_plans(session, (k[0] for k in keys))
    statuses = _statuses(session, ((k[0], k[1]) for k in keys))
    placed = []
    for key in keys:
        draw_id, position, slot = key
        draw = found[draw_id]
        start, end = window(draw.plan, draw)
        status = statuses.get((draw_id, position))
        group = Group.TODAY if finished else group_of(status, start, end, today)
        due = _NO_DAY if finished or end is None else end.toordinal()
        placed.append(((int(group), due, -draw_id, position, slot), key, status, start, end))
    placed.sort(key=lambda p: p[0])
    if cursor:
        last = _decode(finished, cursor)
        placed = [p for p in placed if p[0] > last]
    shown = placed[:limit]
    rows = draws.team_rows(session, ((k[0], k[1]) for _v, k, *_rest in shown))
    cards = [
        Card(
            draw=found[key[0]],
            plan=found[key[0]].plan,
            row=draws.redact(rows[(key[0], key[1])], found[key[0]].plan, actor),
            slot=key[2],
            status=status,
            start=start,
            end=end,
            group=Group(values[0]),
        )
        for values, key, status, start, end in shown
        if (key[0], key[1]) in rows
    ]
    more = len(placed) > limit
    return Keyset(items=cards, next=_encode(finished, shown[-1][0]) if more else None, limit=limit)


@dataclass(frozen=True)
class Summary:
    """An inspector's open visits at a glance (工作台)."""

    to_enter: int  # something to enter or hand over, the window open or past
    late: int  # of those, past the window
    soon: int  # of those, the window ending within SOON_DAYS
    returned: int  # returned for correction or not approved


SOON_DAYS = 3


def summary(session: Session, actor: User, inspector_id: int, *, today: dt.date) -> Summary:
    """The counts of the inspector's open visits, in the queries of a page without its rows."""
    keys = draws.held(session, actor, inspector_id)
    found = draws.draws_with_plans(session, (k[0] for k in keys))
    statuses = _statuses(session, ((k[0], k[1]) for k in keys))
    to_enter = late = soon = returned = 0
    for draw_id, position, _slot in keys:
        draw = found[draw_id]
        start, end = window(draw.plan, draw)
        status = statuses.get((draw_id, position))
        group = group_of(status, start, end, today)
        if status in (RecordStatus.RETURNED, RecordStatus.REJECTED):
            returned += 1
        if group in (Group.TODAY, Group.LATE):
            to_enter += 1
            late += group == Group.LATE
            soon += group == Group.TODAY and end is not None and (end - today).days <= SOON_DAYS
    return Summary(to_enter=to_enter, late=late, soon=soon, returned=returned)
