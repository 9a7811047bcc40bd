"""The outbox dispatcher (`shuangsuiji outbox run`): sends due webhooks and e-mail.

Each round claims a batch of due messages in a short transaction (FOR UPDATE SKIP LOCKED on
PostgreSQL, so several dispatchers may run), sends them outside any transaction, then records
the batch's outcomes in one transaction. Delivery is at least once: a receiver deduplicates by
the message id header. Webhooks are signed: the header X-Shuangsuiji-Signature carries
``sha256=`` + HMAC-SHA256(WEBHOOK_SECRET, timestamp + "." + body) in hex, with the timestamp
(Unix seconds) in X-Shuangsuiji-Timestamp, so a receiver can check both the origin and the
age. E-mail goes out through SMTP only when SMTP_HOST is set; otherwise e-mail, like SMS,
stays queued for an external gateway (the API's /outbox/messages).

A database outage fails a round, not the process: it backs off (OUTAGE_BACKOFF_SECONDS,
doubling) and resumes (db/outages.py). A batch sent but whose outcomes could not be recorded
stays leased and is sent again when its lease ends. The dispatcher uses no Redis.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import signal
import smtplib
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid

from .. import __version__
from ..db import Database, OutboxMessage, utcnow
from ..db.outages import Outage, is_outage
from ..services.platform import outbox

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Shuangsuiji-Signature"
TIMESTAMP_HEADER = "X-Shuangsuiji-Timestamp"
MESSAGE_ID_HEADER = "X-Shuangsuiji-Message-Id"


class SendError(Exception):
    """One attempt failed; the message says why (stored as the message's last error)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (Unix seconds, as text)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (and the tests): compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: following it would resend a signed body somewhere else."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def check_config(config) -> list[str]:
    """What stops the dispatcher from starting."""
    problems = []
    if config["SMTP_HOST"] and not config["SMTP_FROM"]:
        problems.append("SMTP_HOST is set but SMTP_FROM is empty")
    if config["SMTP_SSL"] and config["SMTP_STARTTLS"]:
        problems.append("SMTP_SSL and SMTP_STARTTLS exclude each other")
    if (
        config["OUTBOX_LEASE_SECONDS"]
        <= config["OUTBOX_BATCH"] * config["OUTBOX_HTTP_TIMEOUT_SECONDS"]
    ):
        # A batch is sent before its outcomes are recorded: its lease must outlast it.
        problems.append(
            "OUTBOX_LEASE_SECONDS must exceed OUTBOX_BATCH × OUTBOX_HTTP_TIMEOUT_SECONDS"
        )
    if config["WEBHOOK_SECRET"] and len(config["WEBHOOK_SECRET"]) < 16:
        problems.append("WEBHOOK_SECRET must be at least 16 characters")
    return problems


class Dispatcher:
    def __init__(
        self,
        db: Database,
        config,
        *,
        smtp_class: type | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        problems = check_config(config)
        if problems:
            raise ValueError("; ".join(problems))
        self.db = db
        self.config = config
        self.clock = clock
        self.retry = outbox.Retry.from_config(config)
        self.smtp_class = smtp_class or (smtplib.SMTP_SSL if config["SMTP_SSL"] else smtplib.SMTP)
        self.stopping = threading.Event()
        self.outage = Outage.from_config("outbox dispatcher", config, log)
        channels = []
        if config["WEBHOOK_SECRET"]:
            channels.append("webhook")
        if config["SMTP_HOST"]:
            channels.append("email")
        self.channels = tuple(channels)

    def install_signal_handlers(self) -> None:
        def on_signal(signum, _frame):
            log.info("outbox dispatcher: signal %s, stopping after this round", signum)
            self.stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    # --- sending ---------------------------------------------------------------------------

    def send_webhook(self, message: OutboxMessage) -> None:
        if not message.recipient.startswith(("http://", "https://")):
            raise SendError("Webhook 地址须以 http:// 或 https:// 开头")
        body = message.body.encode()
        timestamp = str(int(self.clock().timestamp()))
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            message.recipient,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": f"shuangsuiji/{__version__}",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(self.config["WEBHOOK_SECRET"], timestamp, body),
                MESSAGE_ID_HEADER: str(message.id),
            },
        )
        try:
            with _opener.open(request, timeout=self.config["OUTBOX_HTTP_TIMEOUT_SECONDS"]) as r:
                r.read(65536)
        except urllib.error.HTTPError as exc:
            raise SendError(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SendError(f"连接失败：{reason}") from None

    def send_email(self, message: OutboxMessage) -> None:
        config = self.config
        email = EmailMessage()
        email["From"] = config["SMTP_FROM"]
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}")
        email.set_content(message.body)
        timeout = config["OUTBOX_HTTP_TIMEOUT_SECONDS"]
        try:
            with self.smtp_class(config["SMTP_HOST"], config["SMTP_PORT"], timeout=timeout) as s:
                if config["SMTP_STARTTLS"]:
                    s.starttls()
                if config["SMTP_USERNAME"]:
                    s.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
                s.send_message(email)
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP：{exc}") from None

    def _send(self, message: OutboxMessage) -> None:
        if message.channel == "webhook":
            self.send_webhook(message)
        elif message.channel == "email":
            self.send_email(message)
        else:  # never claimed: SMS goes through the external gateway
            raise SendError(f"本系统不直接发送 {message.channel} 消息")

    # --- the loop --------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch of due messages and try each once; the number tried."""
        lease = dt.timedelta(seconds=self.config["OUTBOX_LEASE_SECONDS"])
        with self.db.transaction() as session:
            claimed = outbox.claim_due(
                session,
                channels=self.channels,
                limit=self.config["OUTBOX_BATCH"],
                lease=lease,
                now=self.clock(),
            )
            session.expunge_all()  # plain objects from here on: sending is outside the session
        outcomes = []
        for message in claimed:
            try:
                self._send(message)
            except SendError as exc:
                log.warning(
                    "outbox message %s: attempt %s failed: %s", message.id, message.attempts, exc
                )
                outcomes.append((message.id, str(exc), self.clock()))
            else:
                outcomes.append((message.id, None, self.clock()))
        # One transaction for the batch's outcomes: a dispatcher that dies before it commits
        # leaves those messages leased, and they are sent again when the lease ends (receivers
        # deduplicate by X-Shuangsuiji-Message-Id).
        # Through a database outage the outcomes are kept and recorded when it ends, rather
        # than left to the lease and sent again.
        self.outage.keep_trying(lambda: self._record(outcomes), stopping=self.stopping)
        return len(claimed)

    def _record(self, outcomes: list) -> None:
        with self.db.transaction() as session:
            for message_id, error, at in outcomes:
                if error is None:
                    outbox.record_sent(session, message_id, now=at)
                else:
                    outbox.record_failure(
                        session, message_id, error=error, retry=self.retry, now=at
                    )

    def run(self, *, once: bool = False) -> None:
        """Send until stopped; with `once`, until nothing is due."""
        if not self.channels:
            log.warning(
                "outbox dispatcher: neither WEBHOOK_SECRET nor SMTP_HOST is set, nothing to send"
            )
        log.info("outbox dispatcher started (channels: %s)", ", ".join(self.channels) or "none")
        while not self.stopping.is_set():
            try:
                tried = self.run_once()
            except Exception as error:  # a database outage, or a bug: the process carries on
                if once and not is_outage(error):
                    raise
                self.stopping.wait(self.outage.failed(error))
                continue
            self.outage.succeeded()
            if once and not tried:
                break
            if not tried:
                self.stopping.wait(self.config["OUTBOX_POLL_SECONDS"])
        log.info("outbox dispatcher stopped")
