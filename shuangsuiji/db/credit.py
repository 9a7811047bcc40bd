"""The credit record (信用): credit events fed to the credit platform, and the 经营异常名录
listing workflow.

Credit events are append-only (the database refuses UPDATE and DELETE) and unique per
(source, rule): publishing a result twice creates nothing twice. Their id is the outbound
feed's cursor.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import Department
from .base import Base, utcnow
from .documents import decode
from .registry import Entity
from .states import ListingStatus, check_in

LISTING_STATUSES = tuple(ListingStatus)
CREDIT_APPEND_ONLY = ("credit_events",)


class CreditEvent(Base):
    """信用事件: one fact about an entity's credit record, as the credit platform receives it.

    `source` names what caused it ("inspection:123" for a published result, "listing:7" for a
    step of a 经营异常名录 record) and `rule` which rule or step (e.g. "6:unreachable",
    "listed"); the pair is unique. `payload` is the event's JSON, the body of the feed line.
    """

    __tablename__ = "credit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    uscc: Mapped[str] = mapped_column(String(18))
    event_type: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(100))
    rule: Mapped[str] = mapped_column(String(64))
    result_code: Mapped[str | None] = mapped_column(String(4))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    entity: Mapped[Entity] = relationship()

    __table_args__ = (
        UniqueConstraint("source", "rule"),
        Index("ix_credit_events_entity_id", "entity_id"),
        Index("ix_credit_events_department_id_id", "department_id", "id"),
    )

    @property
    def data(self) -> dict[str, Any]:
        """The event as the feed and the webhook carry it (payload, JSON)."""
        return decode(self.payload, {})


class AbnormalListing(Base):
    """经营异常名录记录: an entity's way onto (and off) the list of abnormal operations.

    candidate (列入候选, `deadline` = the last day to decide) → listed (列入, sets the entity's
    flag) or dismissed (不予列入, with reason); listed → removal_requested (申请移出: the ground
    is cured, `removal_deadline` = the last day to remove) → removed (移出). `order_deadline`,
    when set, is the end of an order to correct first (责令限期公示): listing waits for it.
    """

    __tablename__ = "abnormal_listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    source: Mapped[str] = mapped_column(String(100))
    rule: Mapped[str] = mapped_column(String(64))
    result_code: Mapped[str] = mapped_column(String(4))
    ground: Mapped[str] = mapped_column(String(200))
    verified_on: Mapped[dt.date] = mapped_column(Date)
    order_deadline: Mapped[dt.date | None] = mapped_column(Date)
    deadline: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=ListingStatus.CANDIDATE)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    listed_on: Mapped[dt.date | None] = mapped_column(Date)
    removal_requested_on: Mapped[dt.date | None] = mapped_column(Date)
    removal_reason: Mapped[str | None] = mapped_column(Text)
    removal_deadline: Mapped[dt.date | None] = mapped_column(Date)
    removed_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    entity: Mapped[Entity] = relationship()
    department: Mapped[Department] = relationship()

    __table_args__ = (
        UniqueConstraint("source", "rule"),
        CheckConstraint(check_in("status", ListingStatus), name="status"),
        Index("ix_abnormal_listings_department_id_status", "department_id", "status"),
        Index("ix_abnormal_listings_entity_id", "entity_id"),
    )
