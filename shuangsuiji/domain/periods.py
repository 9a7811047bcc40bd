"""抽查批次的期间 (periods of a recurring plan's year): months, quarters or the year.

Pure: the scheduler (services/plans/batches.py) draws one batch per period, and the deadlines of a
batch's task (services/results/deadlines.py) take its period as the fieldwork window.
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Period:
    """抽查批次的期间: one month, quarter or year of a plan year; `index` counts from 1."""

    key: str
    index: int
    start: dt.date
    end: dt.date


def periods(recurrence: str, year: int) -> list[Period]:
    """The plan year's periods in order: 12 months, 4 quarters or the year."""
    if recurrence == "monthly":
        return [
            Period(
                f"{year}-{m:02d}",
                m,
                dt.date(year, m, 1),
                dt.date(year, m, month_calendar.monthrange(year, m)[1]),
            )
            for m in range(1, 13)
        ]
    if recurrence == "quarterly":
        return [
            Period(
                f"{year}-Q{q}",
                q,
                dt.date(year, 3 * q - 2, 1),
                dt.date(year, 3 * q, month_calendar.monthrange(year, 3 * q)[1]),
            )
            for q in range(1, 5)
        ]
    if recurrence == "yearly":
        return [Period(str(year), 1, dt.date(year, 1, 1), dt.date(year, 12, 31))]
    raise ValueError(f"not a recurring plan: {recurrence!r}")


def period_of(recurrence: str, key: str) -> Period | None:
    """The period a batch key names ("2027-03", "2027-Q1", "2027"), or None if none does."""
    year = key[:4]
    if not year.isdigit():
        return None
    try:
        found = periods(recurrence, int(year))
    except ValueError:
        return None
    return next((p for p in found if p.key == key), None)
