"""Riding out outages: what counts as one, the backoff, and the scheduler's retry round."""

from __future__ import annotations

import logging

import pytest
import redis
from sqlalchemy.exc import IntegrityError, OperationalError

from shuangsuiji.db import utcnow
from shuangsuiji.db.outages import Backoff, Outage, describe, is_outage
from shuangsuiji.scheduler import RETRY_JOB, Scheduler, batch_jobs


def _blip(text="server closed the connection unexpectedly"):
    return OperationalError("SELECT a_very_long_statement", {}, Exception(text))


def test_what_counts_as_an_outage():
    assert is_outage(_blip())
    assert is_outage(redis.ConnectionError("Connection refused"))
    assert not is_outage(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not is_outage(ValueError("a bug"))


def test_an_outage_is_described_in_one_short_line():
    line = describe(_blip("terminating connection\nDETAIL: more"))
    assert line == "Exception: terminating connection"
    assert "SELECT" not in line


def test_the_backoff_doubles_up_to_its_cap_and_resets():
    backoff = Backoff(base=1.0, cap=5.0)
    assert [backoff.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff.reset() == 5
    assert backoff.next_delay() == 1.0


def test_an_outage_logs_one_line_per_failure_and_one_when_it_ends(caplog):
    outage = Outage("test", Backoff(1.0, 60.0), logging.getLogger("test.outage"))
    with caplog.at_level(logging.INFO, logger="test.outage"):
        assert outage.failed(_blip()) == 1.0
        assert outage.failed(_blip()) == 2.0
        outage.succeeded()
        outage.succeeded()  # nothing to say
    assert [(r.levelname, r.exc_info) for r in caplog.records] == [
        ("WARNING", None),
        ("WARNING", None),
        ("INFO", None),
    ]
    assert "retrying in 2.0 s" in caplog.records[1].getMessage()
    assert "resumed after 2 failed rounds" in caplog.records[2].getMessage()


def test_an_unexpected_error_is_logged_with_its_traceback(caplog):
    outage = Outage("test", Backoff(1.0, 60.0), logging.getLogger("test.outage"))
    with caplog.at_level(logging.INFO, logger="test.outage"):
        try:
            raise ValueError("a bug")
        except ValueError as error:
            outage.failed(error)
    assert caplog.records[0].levelname == "ERROR" and caplog.records[0].exc_info


@pytest.fixture
def scheduler(db, app):
    config = {**app.config, "OUTAGE_BACKOFF_SECONDS": 2.0, "OUTAGE_BACKOFF_MAX_SECONDS": 3.0}
    scheduler = Scheduler(db, config)
    scheduler.aps.start(paused=True)  # jobs are stored, none runs
    yield scheduler
    scheduler.aps.shutdown(wait=False)


def test_a_failed_scheduler_round_is_retried_after_the_backoff(scheduler, monkeypatch, caplog):
    down = True

    def ensure_due(*args, **kwargs):
        if down:
            raise _blip()
        return []

    monkeypatch.setattr(batch_jobs, "ensure_due", ensure_due)
    with caplog.at_level(logging.INFO, logger="shuangsuiji.scheduler"):
        delays = []
        for _ in range(3):
            before = utcnow()
            scheduler._run()
            delays.append((scheduler.aps.get_job(RETRY_JOB).next_run_time - before).total_seconds())
        down = False
        scheduler._run()
    assert [round(d) for d in delays] == [2, 3, 3]  # doubling, up to the cap
    assert scheduler.aps.get_job(RETRY_JOB) is None  # the round succeeded
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 3 and all(r.exc_info is None for r in warnings)
    assert any("resumed after 3 failed rounds" in r.getMessage() for r in caplog.records)
