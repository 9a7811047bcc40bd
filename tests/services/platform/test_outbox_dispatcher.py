"""The outbox dispatcher against a local HTTP server and a local SMTP server (threads)."""

from __future__ import annotations

import datetime as dt
import email
import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shuangsuiji.db.states import OutboxStatus
from shuangsuiji.services.platform import outbox
from shuangsuiji.services.results import credit
from shuangsuiji.worker.outbox import (
    MESSAGE_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Dispatcher,
    sign,
    verify,
)

from ... import factories

SECRET = "a-webhook-secret-of-some-length"  # noqa: S105


class Clock:
    def __init__(self):
        self.now = dt.datetime(2030, 5, 6, 1, 0, tzinfo=dt.UTC)

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def receiver():
    """A webhook receiver answering with the queued statuses (then 200), recording requests."""
    received, statuses = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            status = statuses.pop(0) if statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield {
        "url": f"http://127.0.0.1:{server.server_address[1]}/hook",
        "received": received,
        "statuses": statuses,
    }
    server.shutdown()
    server.server_close()


def _config(app, **overrides):
    return {
        **app.config,
        "WEBHOOK_SECRET": SECRET,
        "OUTBOX_MAX_ATTEMPTS": 3,
        "OUTBOX_BACKOFF_SECONDS": 60.0,
        **overrides,
    }


def _webhook(session, url, payload=None):
    message = outbox.enqueue(
        session, channel="webhook", recipient=url, body=payload or {"type": "unreachable"}
    )
    session.commit()
    return message


def test_a_webhook_is_signed_over_timestamp_and_body(app, db, session, receiver):
    message = _webhook(session, receiver["url"], {"type": "unreachable", "uscc": "9113"})
    clock = Clock()
    assert Dispatcher(db, _config(app), clock=clock).run_once() == 1
    [(headers, body)] = receiver["received"]
    assert json.loads(body) == {"type": "unreachable", "uscc": "9113"}
    assert headers[TIMESTAMP_HEADER] == str(int(clock.now.timestamp()))
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify(
        "another-secret-entirely", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER]
    )
    assert headers[MESSAGE_ID_HEADER] == str(message.id)
    session.expire_all()
    assert (message.status, message.attempts, message.sent_at) == ("sent", 1, clock.now)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(b"k" * 16, b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k" * 16, "1700000000", b"{}") == f"sha256={expected}"


def test_a_500_is_retried_after_the_backoff(app, db, session, receiver):
    message = _webhook(session, receiver["url"])
    receiver["statuses"].append(500)
    clock = Clock()
    dispatcher = Dispatcher(db, _config(app), clock=clock)
    assert dispatcher.run_once() == 1
    session.expire_all()
    assert (message.status, message.attempts, message.last_error) == ("queued", 1, "HTTP 500")
    assert message.next_attempt_at == clock.now + dt.timedelta(seconds=60)
    clock.advance(59)
    assert dispatcher.run_once() == 0  # not due yet
    clock.advance(1)
    assert dispatcher.run_once() == 1
    session.expire_all()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(receiver["received"]) == 2


def test_a_webhook_is_given_up_after_the_last_attempt(app, db, session, receiver):
    message = _webhook(session, receiver["url"])
    receiver["statuses"].extend([500, 502, 503, 200])
    clock = Clock()
    dispatcher = Dispatcher(db, _config(app), clock=clock)
    for _ in range(5):
        dispatcher.run_once()
        clock.advance(3600)
    session.expire_all()
    assert (message.status, message.attempts, message.last_error) == ("failed", 3, "HTTP 503")
    assert len(receiver["received"]) == 3


def test_an_unreachable_receiver_is_a_failed_attempt(app, db, session):
    message = _webhook(session, "http://127.0.0.1:9/nothing-listens-here")
    Dispatcher(db, _config(app, OUTBOX_HTTP_TIMEOUT_SECONDS=2.0), clock=Clock()).run_once()
    session.expire_all()
    assert message.status == "queued" and message.last_error.startswith("连接失败")


def test_webhooks_wait_while_no_secret_is_configured(app, db, session, receiver):
    message = _webhook(session, receiver["url"])
    assert Dispatcher(db, _config(app, WEBHOOK_SECRET=""), clock=Clock()).run_once() == 0
    session.expire_all()
    assert message.status == "queued" and receiver["received"] == []


def test_credit_events_reach_the_webhook(app, db, session, world, receiver):
    entity = factories.EntityFactory(department=world["a"])
    credit.on_result_published(
        session,
        actor=world["admin_a"],
        entity_id=entity.id,
        department_id=world["a"].id,
        inspection_ref="inspection:5",
        codes=["6"],
        checked_on=dt.date(2030, 5, 6),
        published_at=dt.datetime(2030, 5, 20, tzinfo=dt.UTC),
        settings=credit.CreditSettings(webhook_url=receiver["url"]),
    )
    session.commit()
    Dispatcher(db, _config(app), clock=Clock()).run_once()
    types = [json.loads(body)["type"] for _, body in receiver["received"]]
    assert types == ["inspection_result", "unreachable"]


# --- e-mail -----------------------------------------------------------------------------------


@pytest.fixture
def smtp_server():
    """A minimal SMTP server (RFC 5321's happy path) that keeps what it receives."""
    received = []

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write((line + "\r\n").encode())

        def handle(self):
            self.reply("220 localhost test SMTP")
            envelope = {"from": None, "to": []}
            while line := self.rfile.readline():
                command = line.decode().rstrip("\r\n")
                verb = command.split(" ")[0].upper()
                if verb in ("EHLO", "HELO"):
                    self.reply("250 localhost")
                elif verb == "MAIL":
                    envelope["from"] = command.split(":", 1)[1].strip("<> ")
                    self.reply("250 OK")
                elif verb == "RCPT":
                    envelope["to"].append(command.split(":", 1)[1].strip("<> "))
                    self.reply("250 OK")
                elif verb == "DATA":
                    self.reply("354 End data with <CR><LF>.<CR><LF>")
                    data = b""
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        data += chunk
                    received.append((envelope, email.message_from_bytes(data)))
                    self.reply("250 OK queued")
                elif verb == "QUIT":
                    self.reply("221 Bye")
                    return
                else:
                    self.reply("250 OK")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield {"port": server.server_address[1], "received": received}
    server.shutdown()
    server.server_close()


def _mail(session):
    message = outbox.enqueue(
        session,
        channel="email",
        recipient="li@example.cn",
        subject="到期提醒",
        body="任务将于明日到期",
    )
    session.commit()
    return message


def test_email_is_sent_through_smtp_when_configured(app, db, session, smtp_server):
    message = _mail(session)
    config = _config(
        app, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server["port"], SMTP_FROM="ssj@example.cn"
    )
    assert Dispatcher(db, config, clock=Clock()).run_once() == 1
    [(envelope, mail)] = smtp_server["received"]
    assert envelope == {"from": "ssj@example.cn", "to": ["li@example.cn"]}
    assert str(email.header.make_header(email.header.decode_header(mail["Subject"]))) == "到期提醒"
    assert "任务将于明日到期" in mail.get_payload(decode=True).decode()
    session.expire_all()
    assert message.status == "sent"


def test_email_waits_for_the_gateway_without_smtp(app, db, session):
    message = _mail(session)
    assert Dispatcher(db, _config(app), clock=Clock()).run_once() == 0
    session.expire_all()
    assert message.status == "queued" and message.attempts == 0


def test_smtp_without_a_sender_address_refuses_to_start(app, db):
    with pytest.raises(ValueError, match="SMTP_FROM"):
        Dispatcher(db, _config(app, SMTP_HOST="127.0.0.1"))


def test_a_claim_skips_messages_another_dispatcher_holds(scratch_url):
    """PostgreSQL: while one dispatcher's claim is uncommitted, a second one takes the other
    due messages at once instead of waiting (FOR UPDATE SKIP LOCKED)."""
    from alembic import command

    from shuangsuiji.cli.db import alembic_config
    from shuangsuiji.db import Database, make_engine

    if not scratch_url.startswith("postgresql"):
        pytest.skip("SQLite admits one writer at a time: nothing to skip")
    command.upgrade(alembic_config(scratch_url), "head")
    db = Database(make_engine(scratch_url))
    with db.transaction() as session:
        for n in range(4):
            outbox.enqueue(
                session, channel="webhook", recipient=f"https://x.example/{n}", body="{}"
            )
    lease = dt.timedelta(minutes=5)
    first = db.session()
    mine = outbox.claim_due(first, channels=("webhook",), limit=2, lease=lease)
    second = db.session()
    second.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting would fail the test
    theirs = outbox.claim_due(second, channels=("webhook",), limit=10, lease=lease)
    assert len(mine) == 2 and len(theirs) == 2
    assert not {m.id for m in mine} & {m.id for m in theirs}
    first.commit()
    second.commit()
    first.close()
    second.close()
    db.engine.dispose()


def test_a_lease_shorter_than_a_batch_refuses_to_start(app, db):
    config = _config(
        app, OUTBOX_BATCH=50, OUTBOX_HTTP_TIMEOUT_SECONDS=10.0, OUTBOX_LEASE_SECONDS=300
    )
    with pytest.raises(ValueError, match="OUTBOX_LEASE_SECONDS"):
        Dispatcher(db, config)


def test_the_dispatcher_rides_out_a_database_outage(app, db, session, receiver, monkeypatch):
    _webhook(session, receiver["url"])
    real_claim, calls = outbox.claim_due, []

    def flaky_claim(*args, **kwargs):
        calls.append(1)
        if len(calls) <= 2:
            raise OperationalError("SELECT", {}, Exception("could not connect to server"))
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(outbox, "claim_due", flaky_claim)
    config = _config(app, OUTAGE_BACKOFF_SECONDS=0.01, OUTAGE_BACKOFF_MAX_SECONDS=0.02)
    dispatcher = Dispatcher(db, config, clock=Clock())
    dispatcher.run(once=True)  # raised out of the loop before
    assert len(receiver["received"]) == 1 and len(calls) >= 3
    assert dispatcher.outage.backoff.failures == 0


def test_an_outage_while_recording_a_sent_message_does_not_send_it_again(
    app, db, session, receiver, monkeypatch
):
    message = _webhook(session, receiver["url"])
    real_record, calls = outbox.record_sent, []

    def flaky_record(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE", {}, Exception("server closed the connection"))
        return real_record(*args, **kwargs)

    monkeypatch.setattr(outbox, "record_sent", flaky_record)
    config = _config(app, OUTAGE_BACKOFF_SECONDS=0.01)
    Dispatcher(db, config, clock=Clock()).run(once=True)
    session.expire_all()
    assert len(receiver["received"]) == 1
    assert session.get(type(message), message.id).status == OutboxStatus.SENT
