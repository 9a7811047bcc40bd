"""The outbox (发件箱): enqueue messages, claim the due ones, record how sending went.

Any service that must notify the outside world calls `enqueue` inside its own transaction;
nothing is sent from a request. The dispatcher process (worker/outbox.py) claims due
messages (`claim_due`), sends them outside any transaction and records the outcome
(`record_sent` / `record_failure`). E-mail and SMS that this deployment does not send itself
stay queued for an external gateway, which reads them over the API and reports back
(`gateway_report`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...db import OUTBOX_CHANNELS, OutboxMessage, User, utcnow
from ...db.states import OutboxStatus
from ...errors import Conflict, Invalid, NotFound
from ..scope import require_sysadmin
from . import audit

CHANNEL_LABELS = {"webhook": "Webhook", "email": "电子邮件", "sms": "短信"}
STATUS_LABELS = {
    OutboxStatus.QUEUED: "待发送",
    OutboxStatus.SENT: "已发送",
    OutboxStatus.FAILED: "已放弃",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9\- ]{4,30}")


@dataclass(frozen=True)
class Retry:
    """How often and how late a failed message is tried again (from configuration)."""

    max_attempts: int = 8
    backoff_seconds: float = 30.0  # delay after the first failure; doubles after each
    backoff_max_seconds: float = 6 * 3600.0

    @classmethod
    def from_config(cls, config) -> Retry:
        return cls(
            max_attempts=config["OUTBOX_MAX_ATTEMPTS"],
            backoff_seconds=config["OUTBOX_BACKOFF_SECONDS"],
            backoff_max_seconds=config["OUTBOX_BACKOFF_MAX_SECONDS"],
        )

    def delay(self, attempts: int) -> dt.timedelta:
        """The wait before the next attempt after `attempts` (≥ 1) failed ones."""
        seconds = self.backoff_seconds * 2 ** max(0, attempts - 1)
        return dt.timedelta(seconds=min(seconds, self.backoff_max_seconds))


def snapshot(message: OutboxMessage) -> dict:
    """What the audit trail keeps of a message (not its body: it may carry personal data)."""
    return {
        "channel": message.channel,
        "recipient": message.recipient,
        "subject": message.subject,
        "status": message.status,
        "attempts": message.attempts,
        "dedup_key": message.dedup_key,
        "last_error": message.last_error,
    }


def _check(channel: str, recipient: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if channel not in OUTBOX_CHANNELS:
        errors["channel"] = [f"渠道无效：{channel}（可选：{'、'.join(OUTBOX_CHANNELS)}）"]
    elif channel == "webhook" and not re.match(r"https?://[^\s]+$", recipient):
        errors["recipient"] = ["Webhook 地址须以 http:// 或 https:// 开头"]
    elif channel == "email" and not _EMAIL.fullmatch(recipient):
        errors["recipient"] = ["电子邮件地址格式无效"]
    elif channel == "sms" and not _PHONE.fullmatch(recipient):
        errors["recipient"] = ["手机号码格式无效"]
    if not recipient or len(recipient) > 500:
        errors["recipient"] = ["收件人不能为空，且不超过 500 个字符"]
    return errors


# Keyword-only: every field of a message, named at each call (PLR0913 measures the count).
def enqueue(  # noqa: PLR0913
    session: Session,
    *,
    channel: str,
    recipient: str,
    body: str | dict | list,
    subject: str = "",
    dedup_key: str | None = None,
    department_id: int | None = None,
    actor: User | None = None,
    not_before: dt.datetime | None = None,
) -> OutboxMessage:
    """Queue one message; it is sent after the caller's transaction commits.

    `body` is text, or for a webhook a JSON-able payload (serialised here once, so the bytes
    signed are the bytes stored). With a `dedup_key` already used, nothing new is queued and
    the existing message is returned: callers may enqueue "the reminder for X" on every run.
    Flushes, never commits.
    """
    recipient = (recipient or "").strip()
    errors = _check(channel, recipient)
    if len(subject) > 300:
        errors["subject"] = ["主题不超过 300 个字符"]
    if dedup_key is not None and not 0 < len(dedup_key) <= 200:
        errors["dedup_key"] = ["去重键长度须为 1 至 200 个字符"]
    if errors:
        raise Invalid("消息无效", errors=errors)
    if not isinstance(body, str):
        body = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if dedup_key is not None:
        existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == dedup_key))
        if existing is not None:
            return existing
    message = OutboxMessage(
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        dedup_key=dedup_key,
        department_id=department_id,
        status=OutboxStatus.QUEUED,
        attempts=0,
        next_attempt_at=not_before or utcnow(),
    )
    try:
        with session.begin_nested():  # another transaction may have queued the same key
            session.add(message)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == dedup_key))
        if dedup_key is None or existing is None:
            raise
        return existing
    audit.record(
        session,
        actor=actor,
        action="outbox.enqueue",
        object_type="outbox_message",
        object_id=message.id,
        after=snapshot(message),
        department_id=department_id,
    )
    return message


def claim_due(
    session: Session,
    *,
    channels: tuple[str, ...],
    limit: int,
    lease: dt.timedelta,
    now: dt.datetime | None = None,
) -> list[OutboxMessage]:
    """Take up to `limit` due messages on `channels`, oldest due first, and lease them.

    Claiming counts an attempt and moves `next_attempt_at` to the end of the lease, so the
    message is not due for anyone else while it is being sent, and is due again if the
    sender dies without recording an outcome. PostgreSQL: FOR UPDATE SKIP LOCKED lets
    dispatchers claim side by side; SQLite: the write transaction admits one claimer.
    """
    now = now or utcnow()
    if not channels:
        return []
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.QUEUED,
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.channel.in_(channels),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    messages = list(session.scalars(query))
    for message in messages:
        message.attempts += 1
        message.next_attempt_at = now + lease
    session.flush()
    return messages


def record_sent(
    session: Session, message_id: int, *, actor: User | None = None, now: dt.datetime | None = None
) -> OutboxMessage:
    message = session.get(OutboxMessage, message_id)
    message.status, message.sent_at, message.last_error = OutboxStatus.SENT, now or utcnow(), None
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="outbox.sent",
        object_type="outbox_message",
        object_id=message.id,
        after=snapshot(message),
        department_id=message.department_id,
    )
    return message


def record_failure(
    session: Session,
    message_id: int,
    *,
    error: str,
    retry: Retry,
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> OutboxMessage:
    """A failed attempt: try again after the backoff, or give up after the last attempt."""
    now = now or utcnow()
    message = session.get(OutboxMessage, message_id)
    message.last_error = error[:2000]
    if message.attempts >= retry.max_attempts:
        message.status = OutboxStatus.FAILED
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="outbox.give_up",
            object_type="outbox_message",
            object_id=message.id,
            after=snapshot(message),
            department_id=message.department_id,
        )
    else:
        message.next_attempt_at = now + retry.delay(message.attempts)
        session.flush()
    return message


# --- the external gateway (e-mail/SMS this deployment does not send itself) ------------------


def gateway_queue(
    session: Session, actor: User, *, channel: str, limit: int, after: int = 0
) -> list[OutboxMessage]:
    """Queued messages on `channel`, by id, for a gateway to send (system administrator)."""
    require_sysadmin(actor)
    if channel not in OUTBOX_CHANNELS:
        raise Invalid("渠道无效", errors={"channel": ["渠道无效"]})
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.status == OutboxStatus.QUEUED,
                OutboxMessage.id > after,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def gateway_report(
    session: Session,
    *,
    actor: User,
    message_id: int,
    sent: bool,
    error: str = "",
    retry: Retry,
) -> OutboxMessage:
    """The gateway sent a message (`sent`), or tried and failed (`error`, counted as an
    attempt with the usual backoff and giving up)."""
    require_sysadmin(actor)
    # Locked: two reports of one message at once record one outcome, the other gets 409.
    message = session.get(OutboxMessage, message_id, with_for_update=True, populate_existing=True)
    if message is None:
        raise NotFound("消息不存在")
    if message.status != OutboxStatus.QUEUED:
        raise Conflict(f"该消息当前状态为“{STATUS_LABELS[message.status]}”，不能再报告结果")
    if message.channel == "webhook":
        raise Conflict("Webhook 消息由本系统的发送进程发送，不能由网关报告")
    message.attempts += 1
    if sent:
        return record_sent(session, message.id, actor=actor)
    if not error.strip():
        raise Invalid("请说明失败原因", errors={"error": ["不能为空"]})
    return record_failure(session, message.id, error=error.strip(), retry=retry, actor=actor)


def list_messages(
    session: Session,
    actor: User,
    *,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 200,
) -> list[OutboxMessage]:
    """The newest messages, for the console's outbox page (system administrator)."""
    require_sysadmin(actor)
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    if channel:
        query = query.where(OutboxMessage.channel == channel)
    return list(session.scalars(query))
