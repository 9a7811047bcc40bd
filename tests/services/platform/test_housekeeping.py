"""Housekeeping: messages no gateway collects expire, a channel can be switched off, final
messages and finished imports' staged rows are deleted after their retention, and nothing still
needed (queued messages, the audit trail, credit events, running imports) is touched."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import func, select

from shuangsuiji.db import AuditEntry, ImportJob, OutboxMessage, stage_entities, stage_matters
from shuangsuiji.db.states import ImportStatus, OutboxStatus
from shuangsuiji.scheduler import Scheduler, housekeeping
from shuangsuiji.services.platform import audit, outbox
from shuangsuiji.services.registry.imports.housekeeping import prune_stages

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
SETTINGS = outbox.Settings(
    channels_off=frozenset(),
    gateway_channels=("email", "sms"),
    retention=dt.timedelta(days=30),
    gateway_expiry=dt.timedelta(hours=72),
)


def _message(session, channel="sms", *, status=None, age=dt.timedelta(0), **kw):
    recipient = {
        "sms": "13800000000",
        "email": "li@example.cn",
        "webhook": "https://x.example/hook",
    }[channel]
    message = outbox.enqueue(session, channel=channel, recipient=recipient, body="通知", **kw)
    message.status = status or message.status
    message.created_at = message.updated_at = NOW - age
    session.flush()
    return message


def _status(session, message):
    session.refresh(message)
    return message.status, message.last_error


def test_messages_waiting_for_a_gateway_expire_with_the_reason(session):
    old_sms = _message(session, "sms", age=4 * DAY)
    old_email = _message(session, "email", age=4 * DAY)
    fresh_sms = _message(session, "sms", age=DAY)
    old_webhook = _message(session, "webhook", age=4 * DAY)  # the dispatcher's, never expires
    expired = outbox.expire_waiting(session, settings=SETTINGS, now=NOW)
    assert expired == {"email": 1, "sms": 1}
    reason = outbox.gateway_expiry_reason(dt.timedelta(hours=72))
    assert "72 小时" in reason
    assert _status(session, old_sms) == (OutboxStatus.FAILED, reason)
    assert _status(session, old_email) == (OutboxStatus.FAILED, reason)
    assert _status(session, fresh_sms) == (OutboxStatus.QUEUED, None)
    assert _status(session, old_webhook) == (OutboxStatus.QUEUED, None)
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox.expire")).all()
    assert len(entries) == 2 and all('"count":1' in e.after for e in entries)
    assert outbox.expire_waiting(session, settings=SETTINGS, now=NOW) == {}  # once


def test_with_smtp_e_mail_is_the_dispatchers_and_does_not_expire(session, app):
    settings = outbox.Settings.from_config({**app.config, "SMTP_HOST": "mail.example.cn"})
    old_email = _message(session, "email", age=10 * DAY)
    assert outbox.expire_waiting(session, settings=settings, now=NOW) == {}
    assert _status(session, old_email) == (OutboxStatus.QUEUED, None)


def test_a_channel_switched_off_queues_nothing_and_its_backlog_is_given_up(session, monkeypatch):
    waiting = _message(session, "sms")  # queued before the channel was switched off
    settings = outbox.Settings(channels_off=frozenset({"sms"}), gateway_expiry=None)
    monkeypatch.setattr(outbox, "_installed", settings)
    new = _message(session, "sms")
    assert _status(session, new) == (OutboxStatus.FAILED, outbox.channel_off_reason("sms"))
    assert "短信" in outbox.channel_off_reason("sms")
    email = _message(session, "email")
    assert _status(session, email) == (OutboxStatus.QUEUED, None)
    assert outbox.expire_waiting(session, settings=settings, now=NOW) == {"sms": 1}
    assert _status(session, waiting) == (OutboxStatus.FAILED, outbox.channel_off_reason("sms"))
    claimed = outbox.claim_due(
        session,
        channels=("sms", "email"),
        limit=10,
        lease=dt.timedelta(minutes=5),
        now=email.next_attempt_at,
    )
    assert [m.id for m in claimed] == [email.id]


def test_the_settings_refuse_an_unknown_channel(app):
    with pytest.raises(ValueError, match="fax"):
        outbox.Settings.from_config({**app.config, "OUTBOX_CHANNELS_OFF": "sms, fax"})
    settings = outbox.Settings.from_config(
        {**app.config, "OUTBOX_CHANNELS_OFF": "sms", "OUTBOX_RETENTION_DAYS": 0}
    )
    assert settings.channels_off == {"sms"} and settings.retention is None


def test_pruning_deletes_only_final_messages_older_than_the_retention(session):
    old_sent = _message(session, "email", status=OutboxStatus.SENT, age=31 * DAY)
    old_failed = _message(session, "webhook", status=OutboxStatus.FAILED, age=31 * DAY)
    recent_sent = _message(session, "email", status=OutboxStatus.SENT, age=29 * DAY)
    old_queued = _message(session, "webhook", age=31 * DAY)  # still to be sent: kept
    audited = session.scalar(select(func.count()).select_from(AuditEntry))
    assert outbox.prune(session, settings=SETTINGS, now=NOW) == 2
    left = set(session.scalars(select(OutboxMessage.id)))
    assert old_sent.id not in left and old_failed.id not in left
    assert {recent_sent.id, old_queued.id} <= left
    # The audit trail keeps its entries of the deleted messages, and the chain holds.
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audited
    assert audit.verify(session).ok
    keep_all = outbox.Settings(retention=None)
    assert outbox.prune(session, settings=keep_all, now=NOW + 365 * DAY) == 0


def _import(session, world, status, *, ended, kind="entities"):
    job = ImportJob(
        department_id=world["a"].id,
        kind=kind,
        filename="x.csv",
        sha256="0" * 64,
        size=1,
        stored_path="x.csv",
        status=status,
        created_at=ended - DAY,
        validated_at=ended,
    )
    session.add(job)
    session.flush()
    return job


def _stage(session, table, job, rows=2):
    session.execute(table.insert(), [{"import_id": job.id, "row_no": n} for n in range(rows)])


def _staged(session, table, job):
    return session.scalar(
        select(func.count()).select_from(table).where(table.c.import_id == job.id)
    )


def test_pruning_deletes_the_stage_of_finished_imports_only(session, world):
    old = NOW - 3 * DAY
    done = _import(session, world, ImportStatus.DONE, ended=old)
    cancelled = _import(session, world, ImportStatus.CANCELLED, ended=old, kind="matters")
    failed_today = _import(session, world, ImportStatus.FAILED, ended=NOW)
    ready = _import(session, world, ImportStatus.READY, ended=old)  # the clerk may confirm it
    checking = _import(session, world, ImportStatus.VALIDATING, ended=old)
    applying = _import(session, world, ImportStatus.APPLYING, ended=old)
    for job in (done, failed_today, ready, checking, applying):
        _stage(session, stage_entities, job)
    _stage(session, stage_matters, cancelled, rows=3)
    session.execute(stage_entities.insert(), [{"import_id": 999_999, "row_no": 1}])  # orphan
    deleted = prune_stages(session, before=NOW - DAY)
    assert deleted == {"stage_entities": 3, "stage_matters": 3}
    assert _staged(session, stage_entities, done) == 0
    assert _staged(session, stage_matters, cancelled) == 0
    for job in (failed_today, ready, checking, applying):
        assert _staged(session, stage_entities, job) == 2
    assert prune_stages(session, before=NOW - DAY) == {}


def test_the_scheduler_runs_housekeeping_and_logs_the_counts(db, session, world, app, caplog):
    real_now = dt.datetime.now(dt.UTC)
    sent = _message(session, "email", status=OutboxStatus.SENT)
    sent.updated_at = real_now - 91 * DAY  # beyond the default 90 days
    waiting = _message(session, "sms")
    waiting.created_at = real_now - 4 * DAY  # beyond the default 72 hours
    job = _import(session, world, ImportStatus.DONE, ended=real_now - 2 * DAY)
    _stage(session, stage_entities, job)
    session.commit()
    scheduler = Scheduler(db, app.config)
    with caplog.at_level(logging.INFO, logger="shuangsuiji.scheduler"):
        report = scheduler.housekeep()
    assert report == housekeeping.Report({"sms": 1}, 1, {"stage_entities": 2})
    assert any(
        "expired messages 1, deleted messages 1, deleted import stage rows 2" in r.getMessage()
        for r in caplog.records
    )
    assert scheduler.housekeep() is None  # not again within HOUSEKEEPING_INTERVAL_MINUTES
    assert session.scalar(select(OutboxMessage.id).where(OutboxMessage.id == sent.id)) is None
    assert _status(session, waiting)[0] == OutboxStatus.FAILED


def test_a_rehearsal_clock_set_forward_does_not_expire_early(db, session, app):
    waiting = _message(session, "sms")
    waiting.created_at = dt.datetime.now(dt.UTC)
    session.commit()
    future = dt.datetime.now(dt.UTC) + 30 * DAY
    Scheduler(db, app.config, clock=lambda: future).housekeep()
    assert _status(session, waiting) == (OutboxStatus.QUEUED, None)


def test_backlog_per_channel_with_its_oldest_message(session, world):
    first = _message(session, "sms", age=3 * DAY)
    _message(session, "sms", age=DAY)
    _message(session, "email", status=OutboxStatus.SENT, age=5 * DAY)  # sent: not waiting
    rows = {b.channel: b for b in outbox.backlog(session, world["sysadmin"])}
    assert (rows["sms"].queued, rows["sms"].oldest) == (2, first.created_at)
    assert (rows["email"].queued, rows["email"].oldest) == (0, None)
    assert set(rows) == {"webhook", "email", "sms"}
