"""The working-day calendar's administrator overrides (调休 and holidays the packages lack)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class WorkdayOverride(Base):
    """工作日调整: one day the administrator declares a working day (上班) or a rest day (放假),
    winning over chinese-calendar and holidays.China."""

    __tablename__ = "workday_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, unique=True)
    is_workday: Mapped[bool]
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
