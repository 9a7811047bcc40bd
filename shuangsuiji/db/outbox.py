"""The outbox (发件箱): messages to send to the outside world, sent by their own process.

A service that must tell someone something (a webhook to the credit platform, a reminder by
e-mail or SMS) writes a row in the same transaction as the change that caused it; the
dispatcher (`shuangsuiji outbox run`) sends it afterwards, retrying with exponential backoff.
So a message exists if and only if its cause was committed, and a slow or unreachable
receiver never holds up a request.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow
from .states import OutboxStatus, check_in

OUTBOX_CHANNELS = ("webhook", "email", "sms")
OUTBOX_STATUSES = tuple(OutboxStatus)


class OutboxMessage(Base):
    """发件箱消息: one message on one channel to one recipient.

    `recipient` is the URL of a webhook, an e-mail address or a phone number. `body` is the
    webhook's JSON payload or the message text. `status` is queued until it is sent (sent) or
    given up after the configured number of attempts (failed). A queued message is due when
    `next_attempt_at` has passed; the dispatcher moves `next_attempt_at` forward when it claims
    one (a lease), so a dispatcher that dies mid-send leaves it due again later. `dedup_key`,
    when given, is unique: enqueuing the same key twice yields the first message.
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    status: Mapped[str] = mapped_column(String(8), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None]
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("channel IN ('webhook', 'email', 'sms')", name="channel"),
        CheckConstraint(check_in("status", OutboxStatus), name="status"),
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )
