"""The audit trail (全过程记录): an append-only, hash-chained log, its daily checkpoints and
the record of its verifications."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class AuditEntry(Base):
    """审计日志条目: one recorded change; `hash` covers the content and the previous hash."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    # The trail is read newest first (by seq), whole or filtered: each filter's index ends
    # with seq, so a page reads its 50 entries instead of sorting every matching one
    # (a department's entries grow by some 20,000 a year; migration 0016).
    __table_args__ = (
        Index("ix_audit_entries_object_seq", "object_type", "object_id", "seq"),
        Index("ix_audit_entries_department_id_seq", "department_id", "seq"),
        Index("ix_audit_entries_action_seq", "action", "seq"),
        Index("ix_audit_entries_actor_name_seq", "actor_name", "seq"),
        Index("ix_audit_entries_at", "at"),
    )


class AuditCheckpoint(Base):
    """审计检查点: the entry count and head hash at the end of a day, published on the site."""

    __tablename__ = "audit_checkpoints"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    entry_count: Mapped[int]
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditVerification(Base):
    """审计链校验点: a verification that found the chain intact up to entry `seq`, whose hash
    was `head_hash`. The next verification starts from the latest one (services/platform/
    audit.py); `full` tells whether this one re-computed the chain from its first entry, and
    `checked` how many entries it re-computed. Append-only, like the trail."""

    __tablename__ = "audit_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    head_hash: Mapped[str] = mapped_column(String(64))
    full: Mapped[bool]
    checked: Mapped[int]
    verified_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
