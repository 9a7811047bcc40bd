"""`shuangsuiji outbox run`: the dispatcher from the command line."""

from __future__ import annotations

from shuangsuiji.cli import main
from shuangsuiji.services.platform import outbox

from ..services.platform.test_outbox_dispatcher import SECRET, receiver  # noqa: F401 (a fixture)


def test_outbox_run_once_sends_what_is_due_and_exits(app, session, receiver):  # noqa: F811
    message = outbox.enqueue(session, channel="webhook", recipient=receiver["url"], body={"a": 1})
    session.commit()
    app.config["WEBHOOK_SECRET"] = SECRET
    result = app.test_cli_runner().invoke(main, ["outbox", "run", "--once"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert message.status == "sent" and len(receiver["received"]) == 1


def test_outbox_run_refuses_an_incomplete_smtp_configuration(app):
    app.config["SMTP_HOST"] = "127.0.0.1"
    result = app.test_cli_runner().invoke(main, ["outbox", "run", "--once"])
    assert result.exit_code == 1 and "SMTP_FROM" in result.output
