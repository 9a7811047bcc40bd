"""The working-day calendar: chinese-calendar's years, holidays.China beyond, overrides first."""

from __future__ import annotations

import datetime as dt
import json

import chinese_calendar
import pytest
from sqlalchemy import select

from shuangsuiji.db import AuditEntry
from shuangsuiji.errors import Conflict, Forbidden, Invalid
from shuangsuiji.services.platform import workdays
from shuangsuiji.services.platform.workdays import Calendar

D = dt.date
ONE = dt.timedelta(days=1)


def _days(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += ONE


def test_is_workday_equals_chinese_calendar_every_day_of_2024_to_2026():
    calendar = Calendar()
    for day in _days(D(2024, 1, 1), D(2026, 12, 31)):
        assert calendar.is_workday(day) == chinese_calendar.is_workday(day), day
        assert calendar.source(day) == "chinese_calendar"


def test_add_workdays_equals_chinese_calendar_every_day_of_2024_to_2026():
    # find_workday(n - 1, d + 1) is the n-th working day after d.
    calendar = Calendar()
    for day in _days(D(2024, 1, 1), D(2026, 11, 15)):
        expected = chinese_calendar.find_workday(19, day + ONE)
        assert calendar.add_workdays(day, 20) == expected, day
        assert calendar.workdays_between(day, expected) == 20, day


def test_a_weekend_tiaoxiu_day_is_a_working_day():
    calendar = Calendar()
    assert D(2024, 2, 4).weekday() == 6  # Sunday, worked for the Spring Festival
    assert calendar.is_workday(D(2024, 2, 4))
    assert calendar.is_workday(D(2024, 2, 18))


def test_the_2025_spring_festival_week_is_not_worked():
    calendar = Calendar()
    assert not any(calendar.is_workday(d) for d in _days(D(2025, 1, 28), D(2025, 2, 4)))


def test_add_workdays_across_the_2025_spring_festival():
    calendar = Calendar()
    # Fri 24 Jan; Sun 26 Jan is worked (1), Mon 27 (2), 28 Jan–4 Feb off, Wed 5 Feb (3).
    assert calendar.add_workdays(D(2025, 1, 24), 1) == D(2025, 1, 26)
    assert calendar.add_workdays(D(2025, 1, 24), 3) == D(2025, 2, 5)
    assert calendar.add_workdays(D(2025, 1, 24), 20) == D(2025, 2, 27)


def test_add_workdays_across_the_2025_national_day():
    calendar = Calendar()
    # Sun 28 Sep is worked; 1–8 Oct off; Sat 11 Oct is worked.
    assert calendar.add_workdays(D(2025, 9, 26), 3) == D(2025, 9, 30)
    assert calendar.add_workdays(D(2025, 9, 26), 4) == D(2025, 10, 9)
    assert calendar.add_workdays(D(2025, 9, 26), 6) == D(2025, 10, 11)


def test_the_day_itself_does_not_count():
    calendar = Calendar()
    monday = D(2025, 3, 3)
    assert calendar.add_workdays(monday, 0) == monday
    assert calendar.add_workdays(monday, 1) == D(2025, 3, 4)
    assert calendar.workdays_between(monday, monday) == 0
    assert calendar.workdays_between(D(2025, 3, 4), monday) == -1
    with pytest.raises(ValueError):
        calendar.add_workdays(monday, -1)


def test_beyond_chinese_calendar_holidays_china_and_weekends_decide():
    calendar = Calendar()
    assert workdays.coverage(2030) == "holidays"
    assert calendar.source(D(2030, 10, 1)) == "holidays"
    assert not calendar.is_workday(D(2030, 10, 1))  # National Day
    assert calendar.is_workday(D(2030, 10, 8))  # a Tuesday
    assert not calendar.is_workday(D(2030, 10, 5))  # a Saturday: no 调休 known
    assert calendar.is_workday(D(2030, 10, 4))  # a Friday


@pytest.mark.parametrize(
    ("day", "is_workday"),
    [
        (D(2025, 1, 29), True),  # Spring Festival (chinese-calendar) made a working day
        (D(2025, 3, 3), False),  # an ordinary Monday made a rest day
        (D(2030, 10, 1), True),  # National Day (holidays.China)
        (D(2030, 10, 12), True),  # a Saturday 调休 not known to any package
    ],
)
def test_an_override_wins_over_both_sources(day, is_workday):
    plain = Calendar()
    assert plain.is_workday(day) != is_workday
    calendar = Calendar({day: is_workday})
    assert calendar.is_workday(day) == is_workday
    assert calendar.source(day) == "override"
    assert calendar.is_workday(day + ONE) == plain.is_workday(day + ONE)


def test_missing_years_names_next_year_without_chinese_calendar_data():
    last = workdays.CC_LAST_YEAR
    assert workdays.missing_years(D(last - 1, 6, 1)) == []
    assert workdays.missing_years(D(last, 12, 1)) == [last + 1]
    assert workdays.missing_years(D(last + 1, 1, 5)) == [last + 1, last + 2]


def test_load_reads_the_overrides(session, world):
    workdays.add_override(session, actor=world["sysadmin"], date=D(2025, 3, 3), is_workday=False)
    assert not workdays.load(session).is_workday(D(2025, 3, 3))


def test_adding_and_deleting_an_override_is_audited(session, world):
    root = world["sysadmin"]
    override = workdays.add_override(
        session, actor=root, date=D(2030, 10, 12), is_workday=True, note=" 国庆调休 "
    )
    assert override.note == "国庆调休"
    assert workdays.list_overrides(session, root) == [override]
    workdays.delete_override(session, actor=root, override_id=override.id)
    assert workdays.list_overrides(session, root) == []
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "workday_override")
        .order_by(AuditEntry.seq)  # the chain's order; without it PostgreSQL picks any
    ).all()
    assert [(e.action, e.object_id) for e in entries] == [
        ("workday.add", str(override.id)),
        ("workday.delete", str(override.id)),
    ]
    assert json.loads(entries[1].before)["date"] == "2030-10-12"


def test_a_second_override_for_a_date_is_a_conflict(session, world):
    root = world["sysadmin"]
    workdays.add_override(session, actor=root, date=D(2030, 10, 12), is_workday=True)
    with pytest.raises(Conflict, match="2030-10-12 已有调整记录"):
        workdays.add_override(session, actor=root, date=D(2030, 10, 12), is_workday=False)


def test_an_override_outside_the_supported_years_is_invalid(session, world):
    with pytest.raises(Invalid):
        workdays.add_override(session, actor=world["sysadmin"], date=D(1999, 1, 1), is_workday=True)


def test_only_the_system_administrator_edits_overrides(session, world):
    with pytest.raises(Forbidden):
        workdays.add_override(
            session, actor=world["admin_a"], date=D(2030, 10, 12), is_workday=True
        )
    with pytest.raises(Forbidden):
        workdays.list_overrides(session, world["admin_a"])
