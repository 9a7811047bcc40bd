"""Background tasks: long work claimed and run by the worker process, never in a request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow
from .documents import decode
from .states import JobStatus, check_in


class Task(Base):
    """后台任务: a unit of long work with its progress, stored for the console to show."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    params: Mapped[str] = mapped_column(Text, default="{}")
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(String(255), default="")
    result: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint(check_in("status", JobStatus), name="status"),
        Index("ix_tasks_status_id", "status", "id"),
        Index("ix_tasks_department_id", "department_id"),
    )

    @property
    def parameters(self) -> dict[str, Any]:
        """The task's parameters (params, JSON)."""
        return decode(self.params, {})

    @property
    def outcome(self) -> dict[str, Any] | None:
        """What the handler returned (result, JSON), None until it finished."""
        return decode(self.result)
