"""统计汇总: the statistics kept per department × month, so that a year's report (or ten years')
reads a few hundred rows instead of every result of history.

The month is the Beijing month of the draw (a result counts where its draw counts, as the
report's year is the draw's year); the department is the plan's. Only live draws count (a redraw
takes its predecessor's figures out). services/plans/tallies.py keeps these rows in step with
the draws and the results, in the same transaction; `shuangsuiji statistics rebuild` recomputes
them from the records.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Dimension(enum.StrEnum):
    """What a `StatCell` counts published visits by."""

    CODE = "code"  # a result code (a visit counts once per code found in any matter)
    CHECKED = "checked"  # the month of the check date, "YYYY-MM"
    REGION = "region"  # the entity's 行政区划 code, per credit-risk class
    INDUSTRY = "industry"  # the entity's GB/T 4754 门类 (section letter), per class


class StatMonth(Base):
    """A department's month: entities drawn, results entered (待审核 or 已公示), published.

    Also the lock of the month's statistics: whoever changes them updates this row first."""

    __tablename__ = "stat_months"

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # the first of the month
    drawn: Mapped[int] = mapped_column(default=0)  # not-a-state: a count
    entered: Mapped[int] = mapped_column(default=0)
    published: Mapped[int] = mapped_column(default=0)


class StatStratum(Base):
    """A credit-risk class in a department's month: its population N (the largest class count
    among the month's draws) and its published visits n, with how many found a problem."""

    __tablename__ = "stat_strata"

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    stratum: Mapped[str] = mapped_column(String(32), primary_key=True)
    population: Mapped[int] = mapped_column(default=0)
    visits: Mapped[int] = mapped_column(default=0)
    problems: Mapped[int] = mapped_column(default=0)


class StatCell(Base):
    """Published visits of a department's month by one dimension's key (and, for region and
    industry, by class: the estimates weight each class by N / n)."""

    __tablename__ = "stat_cells"

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(10), primary_key=True)
    stratum: Mapped[str] = mapped_column(String(32), primary_key=True)  # "" for code, checked
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    visits: Mapped[int] = mapped_column(default=0)
    problems: Mapped[int] = mapped_column(default=0)


class StatCellYear(Base):
    """The `StatCell` rows of a department's year, summed over its months: a year's report
    reads these (a twelfth of the rows). Kept with the months' rows, in the same transaction."""

    __tablename__ = "stat_cell_years"

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    dimension: Mapped[str] = mapped_column(String(10), primary_key=True)
    stratum: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    visits: Mapped[int] = mapped_column(default=0)
    problems: Mapped[int] = mapped_column(default=0)
