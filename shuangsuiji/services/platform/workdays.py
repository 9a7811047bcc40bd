"""The working-day calendar (工作日): State Council holidays with their 调休 make-up days.

Sources, first match wins:

1. ``override``: the administrator's table (`WorkdayOverride`), for corrections and for years
   the packages do not know yet;
2. ``chinese_calendar``: the announced holidays and 调休 working days, for the years the
   installed chinese-calendar covers (from 2004 to the last announced year);
3. ``holidays``: beyond that, `holidays.China`'s statutory holidays plus Saturday and Sunday as
   rest days; no 调休 is known this far ahead, so an administrator adds them as overrides once
   the State Council publishes the year's arrangement.

`load()` reads the overrides once; the `Calendar` it returns is pure and answers in memory, so
a caller builds it once per request or job and may loop over whole years.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import holidays
from chinese_calendar import constants as cc_data
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db import User, WorkdayOverride
from ...errors import Conflict, Invalid, NotFound
from ..scope import require_sysadmin
from . import audit

OVERRIDE = "override"
CHINESE_CALENDAR = "chinese_calendar"
HOLIDAYS = "holidays"

# chinese-calendar's own coverage test (min and max year of its holiday table); is_workday()
# computes it again on every call and raises NotImplementedError outside it, so the calendar
# reads the tables directly instead.
_CC_HOLIDAYS: Mapping[dt.date, str] = cc_data.holidays
_CC_WORKDAYS: Mapping[dt.date, str] = cc_data.workdays
CC_FIRST_YEAR = min(_CC_HOLIDAYS).year
CC_LAST_YEAR = max(_CC_HOLIDAYS).year

# The earliest and latest dates an override may have: the calendar is for inspection deadlines.
OVERRIDE_YEARS = (2000, 2099)


@functools.lru_cache(maxsize=64)
def _statutory_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.China(years=year))


def coverage(year: int) -> str:
    """Which package covers `year`: "chinese_calendar" (with 调休) or "holidays" (without)."""
    return CHINESE_CALENDAR if CC_FIRST_YEAR <= year <= CC_LAST_YEAR else HOLIDAYS


def missing_years(today: dt.date) -> list[int]:
    """This year and next year, those of them that chinese-calendar does not cover, ascending:
    their 调休 are unknown until an administrator enters them as overrides."""
    return [y for y in (today.year, today.year + 1) if coverage(y) != CHINESE_CALENDAR]


@dataclass(frozen=True)
class Calendar:
    """A working-day calendar over the overrides (date → is working day) given at creation."""

    overrides: Mapping[dt.date, bool] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))

    def source(self, day: dt.date) -> str:
        """Which source decides `day`: "override", "chinese_calendar" or "holidays"."""
        if day in self.overrides:
            return OVERRIDE
        return coverage(day.year)

    def is_workday(self, day: dt.date) -> bool:
        """Whether `day` is a working day (a 调休 Saturday is; a statutory holiday is not)."""
        decided = self.overrides.get(day)
        if decided is not None:
            return decided
        if CC_FIRST_YEAR <= day.year <= CC_LAST_YEAR:
            # chinese_calendar.is_workday's rule, on its own tables.
            if day in _CC_WORKDAYS:
                return True
            if day in _CC_HOLIDAYS:
                return False
            return day.weekday() < 5
        return day.weekday() < 5 and day not in _statutory_holidays(day.year)

    def add_workdays(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after `day` (n ≥ 0); `day` itself never counts, and n = 0 gives
        `day`. "Within 20 working days after the check ends on E" ends on add_workdays(E, 20).
        """
        if n < 0:
            raise ValueError("n must be ≥ 0")
        one = dt.timedelta(days=1)
        while n:
            day += one
            if self.is_workday(day):
                n -= 1
        return day

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """The number of working days d with start < d ≤ end (negative when end < start), so
        that workdays_between(d, add_workdays(d, n)) == n."""
        if end < start:
            return -self.workdays_between(end, start)
        one = dt.timedelta(days=1)
        count = 0
        day = start + one
        while day <= end:
            count += self.is_workday(day)
            day += one
        return count


def load(session: Session) -> Calendar:
    """The calendar with every override in the database (one query)."""
    rows = session.execute(select(WorkdayOverride.date, WorkdayOverride.is_workday))
    return Calendar({day: is_workday for day, is_workday in rows})


# --- the administrator's overrides -----------------------------------------------------------


def snapshot(override: WorkdayOverride) -> dict:
    return {
        "date": override.date.isoformat(),
        "is_workday": override.is_workday,
        "note": override.note,
    }


def list_overrides(session: Session, actor: User) -> list[WorkdayOverride]:
    require_sysadmin(actor)
    return list(session.scalars(select(WorkdayOverride).order_by(WorkdayOverride.date.desc())))


def add_override(
    session: Session, *, actor: User, date: dt.date, is_workday: bool, note: str = ""
) -> WorkdayOverride:
    """Declare `date` a working day (上班) or a rest day (放假); one override per date."""
    require_sysadmin(actor)
    first, last = OVERRIDE_YEARS
    if not first <= date.year <= last:
        raise Invalid("日期有误", errors={"date": [f"日期须在 {first} 年至 {last} 年之间"]})
    if session.scalar(select(WorkdayOverride.id).where(WorkdayOverride.date == date)):
        raise Conflict(
            f"{date.isoformat()} 已有调整记录，如需修改请先删除原记录",
            errors={"date": ["该日期已有调整记录"]},
        )
    override = WorkdayOverride(
        date=date, is_workday=is_workday, note=note.strip(), created_by_id=actor.id
    )
    session.add(override)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="workday.add",
        object_type="workday_override",
        object_id=override.id,
        after=snapshot(override),
    )
    return override


def delete_override(session: Session, *, actor: User, override_id: int) -> None:
    require_sysadmin(actor)
    override = session.get(WorkdayOverride, override_id)
    if override is None:
        raise NotFound("调整记录不存在")
    before = snapshot(override)
    session.delete(override)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="workday.delete",
        object_type="workday_override",
        object_id=override_id,
        before=before,
    )
