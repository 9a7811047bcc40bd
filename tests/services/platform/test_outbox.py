"""The outbox service: enqueue (validated, deduplicated), claim with a lease, backoff, give up."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from shuangsuiji.db import AuditEntry, OutboxMessage
from shuangsuiji.errors import Conflict, Forbidden, Invalid
from shuangsuiji.services.platform import outbox

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
RETRY = outbox.Retry(max_attempts=3, backoff_seconds=10, backoff_max_seconds=25)


def _email(session, **kwargs):
    values = {
        "channel": "email",
        "recipient": "li@example.cn",
        "subject": "到期提醒",
        "body": "任务即将到期",
    }
    return outbox.enqueue(session, **(values | kwargs))


def test_enqueue_stores_a_queued_message_and_audits_it(session):
    message = _email(session, dedup_key="reminder:1")
    assert (message.status, message.attempts, message.channel) == ("queued", 0, "email")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "outbox.enqueue"))
    assert entry.object_id == str(message.id)
    assert "任务即将到期" not in (entry.after or "")  # bodies stay out of the audit trail


def test_enqueue_with_a_used_dedup_key_returns_the_first_message(session):
    first = _email(session, dedup_key="reminder:7")
    again = _email(session, dedup_key="reminder:7", body="另一条")
    assert again.id == first.id
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_webhook_payload_is_serialised_once(session):
    message = outbox.enqueue(
        session, channel="webhook", recipient="https://x.example/hook", body={"b": 1, "a": "甲"}
    )
    assert message.body == '{"a":"甲","b":1}'


@pytest.mark.parametrize(
    ("channel", "recipient", "field"),
    [
        ("fax", "123", "channel"),
        ("webhook", "ftp://x", "recipient"),
        ("email", "not-an-address", "recipient"),
        ("sms", "abc", "recipient"),
        ("email", "", "recipient"),
    ],
)
def test_enqueue_refuses_bad_channel_or_recipient(session, channel, recipient, field):
    with pytest.raises(Invalid) as caught:
        outbox.enqueue(session, channel=channel, recipient=recipient, body="x")
    assert field in caught.value.errors


def test_claim_takes_due_messages_on_the_channels_asked_for(session):
    due = _email(session, not_before=NOW - dt.timedelta(minutes=1))
    _email(session, not_before=NOW + dt.timedelta(minutes=1))  # not yet due
    outbox.enqueue(session, channel="sms", recipient="13800000000", body="x", not_before=NOW)
    claimed = outbox.claim_due(
        session, channels=("email",), limit=10, lease=dt.timedelta(minutes=5), now=NOW
    )
    assert [m.id for m in claimed] == [due.id]
    assert due.attempts == 1
    assert due.next_attempt_at == NOW + dt.timedelta(minutes=5)  # leased: not due again yet
    again = outbox.claim_due(
        session, channels=("email",), limit=10, lease=dt.timedelta(minutes=5), now=NOW
    )
    assert again == []


def test_failures_back_off_exponentially_then_give_up(session):
    message = _email(session, not_before=NOW)
    waits = []
    for attempt in range(1, 4):
        now = message.next_attempt_at
        outbox.claim_due(session, channels=("email",), limit=1, lease=dt.timedelta(0), now=now)
        outbox.record_failure(session, message.id, error=f"boom {attempt}", retry=RETRY, now=now)
        waits.append(message.next_attempt_at - now)
    assert waits[:2] == [dt.timedelta(seconds=10), dt.timedelta(seconds=20)]
    assert message.status == "failed"
    assert message.last_error == "boom 3"
    assert session.scalar(select(AuditEntry.seq).where(AuditEntry.action == "outbox.give_up"))


def test_backoff_is_capped():
    assert RETRY.delay(10) == dt.timedelta(seconds=25)


def test_gateway_marks_a_queued_email_sent(session, world):
    message = _email(session)
    root = world["sysadmin"]
    assert [m.id for m in outbox.gateway_queue(session, root, channel="email", limit=5)] == [
        message.id
    ]
    outbox.gateway_report(session, actor=root, message_id=message.id, sent=True, retry=RETRY)
    assert (message.status, message.attempts) == ("sent", 1)
    assert message.sent_at is not None
    assert outbox.gateway_queue(session, root, channel="email", limit=5) == []
    with pytest.raises(Conflict):
        outbox.gateway_report(session, actor=root, message_id=message.id, sent=True, retry=RETRY)


def test_gateway_failure_needs_a_reason_and_counts_an_attempt(session, world):
    message = _email(session)
    root = world["sysadmin"]
    with pytest.raises(Invalid):
        outbox.gateway_report(session, actor=root, message_id=message.id, sent=False, retry=RETRY)
    session.rollback()
    message = _email(session)
    outbox.gateway_report(
        session, actor=root, message_id=message.id, sent=False, error="号码停机", retry=RETRY
    )
    assert (message.status, message.attempts, message.last_error) == ("queued", 1, "号码停机")


def test_only_the_system_administrator_reads_the_gateway_queue(session, world):
    with pytest.raises(Forbidden):
        outbox.gateway_queue(session, world["admin_a"], channel="email", limit=5)
