"""检查结果: what the inspectors found at each drawn entity, its review and its publication.

One `InspectionRecord` (检查记录) per visit: a drawn entity of a draw, keyed by (draw, position).
The review status lives on the record (未录入 → 待审核 → 退回 / 不通过 → 已公示). Each matter
checked at the visit has one `InspectionResult` keyed by (record, matter): a joint inspection
later adds other departments' matters to the same visit. Attachments (photos, documents) are
stored in the database with their SHA-256, deferred so that loading a record never pulls them:
they commit and roll back with the record (no orphan files after a failed request), backups and
replicas carry them, and several app hosts need no shared disk; the size limit
(RESULT_ATTACHMENT_MAX_BYTES, 10 MiB) keeps that affordable.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from .base import Base, utcnow
from .plans import Plan
from .registry import Entity
from .states import RecordStatus, check_in

RECORD_STATUSES = tuple(RecordStatus)


class InspectionRecord(Base):
    """检查记录: one visit to one drawn entity, with its review and publication.

    `uscc` and `department_id` repeat what the draw and the plan hold, so that the public
    lookup by USCC and the review lists are answered from this table's own indexes.
    """

    __tablename__ = "inspection_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"))
    position: Mapped[int]
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    uscc: Mapped[str] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(12), default=RecordStatus.DRAFT)
    checked_on: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None]
    review_comment: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    plan: Mapped[Plan] = relationship()
    entity: Mapped[Entity] = relationship()

    __table_args__ = (
        UniqueConstraint("draw_id", "position"),
        CheckConstraint(check_in("status", RecordStatus), name="status"),
        CheckConstraint(
            f"status != '{RecordStatus.PUBLISHED}'"
            " OR (published_at IS NOT NULL AND checked_on IS NOT NULL)",
            name="published",
        ),
        Index("ix_inspection_records_uscc", "uscc"),
        Index("ix_inspection_records_entity_id", "entity_id"),
        Index("ix_inspection_records_department_id_status", "department_id", "status"),
    )


class InspectionResult(Base):
    """事项检查结果: the result of one matter at one visit.

    Lists (result codes, check methods, follow-up measures) are stored as comma-separated codes
    in a fixed order (domain/result_codes.py): small, and compared as text.
    """

    __tablename__ = "inspection_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("inspection_records.id", ondelete="CASCADE"))
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"))
    codes: Mapped[str] = mapped_column(String(100))
    methods: Mapped[str] = mapped_column(String(100))
    measures: Mapped[str] = mapped_column(String(100))
    measure_other: Mapped[str | None] = mapped_column(String(200))
    follow_up_closed: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("record_id", "matter_id"),)


class InspectionAttachment(Base):
    """检查附件: a photo or document of a visit, its type sniffed from its content."""

    __tablename__ = "inspection_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("inspection_records.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_inspection_attachments_record_id", "record_id"),)
