"""The outbox (发件箱): enqueue messages, claim the due ones, record how sending went.

Any service that must notify the outside world calls `enqueue` inside its own transaction;
nothing is sent from a request. The dispatcher process (worker/outbox.py) claims due
messages (`claim_due`), sends them outside any transaction and records the outcome
(`record_sent` / `record_failure`). E-mail and SMS that this deployment does not send itself
stay queued for an external gateway, which reads them over the API and reports back
(`gateway_report`).

Housekeeping (run by the scheduler, scheduler/housekeeping.py): messages waiting for a gateway
that never collects them expire (`expire_waiting`: status failed, the reason in `last_error`),
and messages that reached a final status are deleted after the retention (`prune`). A channel
a deployment switched off (OUTBOX_CHANNELS_OFF) queues nothing: its messages are recorded as
not sent, with the reason, at once.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...db import OUTBOX_CHANNELS, OutboxMessage, User, utcnow
from ...db.states import OutboxStatus
from ...errors import Conflict, Invalid, NotFound
from ..pages import Keyset, keyset
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
class Settings:
    """The deployment's channels and the housekeeping times (from configuration)."""

    channels_off: frozenset[str] = frozenset()
    gateway_channels: tuple[str, ...] = ("email", "sms")  # not sent by this deployment itself
    retention: dt.timedelta | None = dt.timedelta(days=90)  # None: final messages are kept
    gateway_expiry: dt.timedelta | None = dt.timedelta(hours=72)  # None: they wait forever

    @classmethod
    def from_config(cls, config) -> Settings:
        """ValueError names a wrong value."""
        off = frozenset(c.strip() for c in config["OUTBOX_CHANNELS_OFF"].split(",") if c.strip())
        unknown = sorted(off - set(OUTBOX_CHANNELS))
        if unknown:
            raise ValueError(
                f"OUTBOX_CHANNELS_OFF: unknown channel {', '.join(unknown)} "
                f"(channels: {', '.join(OUTBOX_CHANNELS)})"
            )
        for key in ("OUTBOX_RETENTION_DAYS", "OUTBOX_GATEWAY_EXPIRY_HOURS"):
            if config[key] < 0:
                raise ValueError(f"{key} must be ≥ 0 (0: never), got {config[key]!r}")
        days, hours = config["OUTBOX_RETENTION_DAYS"], config["OUTBOX_GATEWAY_EXPIRY_HOURS"]
        return cls(
            channels_off=off,
            gateway_channels=("sms",) if config["SMTP_HOST"] else ("email", "sms"),
            retention=dt.timedelta(days=days) if days else None,
            gateway_expiry=dt.timedelta(hours=hours) if hours else None,
        )


_installed = Settings()


def install(settings: Settings) -> None:
    """Make `settings` the process's outbox configuration (the app factory does this)."""
    global _installed
    _installed = settings


def current() -> Settings:
    return _installed


def channel_off_reason(channel: str) -> str:
    return f"本系统已关闭{CHANNEL_LABELS[channel]}渠道（OUTBOX_CHANNELS_OFF），未发送"


def gateway_expiry_reason(expiry: dt.timedelta) -> str:
    hours = int(expiry.total_seconds() // 3600)
    return f"等待外部网关超过 {hours} 小时未被取走，已过期，未发送"


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
    On a channel this deployment switched off, the message is stored as not sent (failed, with
    the reason) and nobody sends it. Flushes, never commits.
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
    off = channel in current().channels_off
    message = OutboxMessage(
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        dedup_key=dedup_key,
        department_id=department_id,
        status=OutboxStatus.FAILED if off else OutboxStatus.QUEUED,
        last_error=channel_off_reason(channel) if off else None,
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


NEWEST_MESSAGES = ((OutboxMessage.id, True),)


def page_messages(
    session: Session,
    actor: User,
    *,
    status: str | None = None,
    channel: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Keyset:
    """One page of the messages, newest first, after `cursor`, for the console's outbox page
    (system administrator): every message is reachable, none hidden past a limit."""
    require_sysadmin(actor)
    query = select(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
    if channel:
        query = query.where(OutboxMessage.channel == channel)
    return keyset(session, query, NEWEST_MESSAGES, cursor=cursor, limit=limit)


# --- housekeeping (the scheduler's; scheduler/housekeeping.py owns the transaction) ----------


def expire_waiting(
    session: Session, *, settings: Settings, now: dt.datetime | None = None
) -> dict[str, int]:
    """Give up the e-mail and SMS messages that waited for an external gateway longer than
    the expiry, and every queued message of a channel switched off: status failed, the reason
    in `last_error`. One audit entry per channel and reason (count and id range), not one per
    message. Returns the messages expired per channel. Flushes, never commits."""
    now = now or utcnow()
    rounds: list[tuple[str, str, list]] = [
        (channel, channel_off_reason(channel), []) for channel in sorted(settings.channels_off)
    ]
    if settings.gateway_expiry is not None:
        cutoff = now - settings.gateway_expiry
        reason = gateway_expiry_reason(settings.gateway_expiry)
        rounds += [
            (channel, reason, [OutboxMessage.created_at < cutoff])
            for channel in settings.gateway_channels
            if channel not in settings.channels_off
        ]
    expired: dict[str, int] = {}
    for channel, reason, where in rounds:
        which = (
            OutboxMessage.status == OutboxStatus.QUEUED,
            OutboxMessage.channel == channel,
            *where,
        )
        first, last, count = session.execute(
            select(func.min(OutboxMessage.id), func.max(OutboxMessage.id), func.count()).where(
                *which
            )
        ).one()
        if not count:
            continue
        session.execute(
            update(OutboxMessage)
            .where(*which, OutboxMessage.id <= last)
            .values(status=OutboxStatus.FAILED, last_error=reason, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        audit.record(
            session,
            actor=None,
            action="outbox.expire",
            object_type="outbox_message",
            object_id=f"{first}-{last}",
            after={"channel": channel, "count": count, "reason": reason},
        )
        expired[channel] = expired.get(channel, 0) + count
    session.flush()
    return expired


def prune(session: Session, *, settings: Settings, now: dt.datetime | None = None) -> int:
    """Delete the messages sent or given up (failed, expired) longer than the retention ago;
    queued messages are never deleted. The audit trail keeps its entries of them, and the
    credit feed reads the credit events, never the outbox. A reminder whose message was
    deleted while its deadline is still overdue is queued once more (its dedup key is free).
    Returns the messages deleted. Flushes, never commits."""
    if settings.retention is None:
        return 0
    cutoff = (now or utcnow()) - settings.retention
    result = session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.status.in_((OutboxStatus.SENT, OutboxStatus.FAILED)),
            OutboxMessage.updated_at < cutoff,
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return result.rowcount or 0


@dataclass(frozen=True)
class Backlog:
    """What waits on one channel: how many messages and since when."""

    channel: str
    label: str
    queued: int
    oldest: dt.datetime | None
    off: bool


def backlog(session: Session, actor: User) -> list[Backlog]:
    """Each channel's queued messages and its oldest one (the system administrator's 工作台)."""
    require_sysadmin(actor)
    rows = {
        channel: (count, oldest)
        for channel, count, oldest in session.execute(
            select(OutboxMessage.channel, func.count(), func.min(OutboxMessage.created_at))
            .where(OutboxMessage.status == OutboxStatus.QUEUED)
            .group_by(OutboxMessage.channel)
        )
    }
    off = current().channels_off
    return [
        Backlog(channel, CHANNEL_LABELS[channel], *rows.get(channel, (0, None)), channel in off)
        for channel in OUTBOX_CHANNELS
    ]
