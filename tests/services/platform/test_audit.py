"""The audit trail: hash chain, append-only tables, tamper detection, checkpoints."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shuangsuiji.db import AuditEntry
from shuangsuiji.services.platform import audit

from ...conftest import login

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def chain(session, world):
    for n in range(6):
        audit.record(
            session,
            actor=world["admin_a"],
            action="workday.add",
            object_type="thing",
            object_id=n,
            before={"n": n},
            after={"n": n + 1},
            department_id=world["a"].id,
        )
    session.flush()
    return session


def _bypass_triggers(session):
    """What an attacker with database access does first (undone by the test's rollback)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER audit_entries_no_update"))
        session.execute(text("DROP TRIGGER audit_entries_no_delete"))


def _last_seq(session):
    return session.execute(text("SELECT max(seq) FROM audit_entries")).scalar()


def test_chain_verifies(chain):
    report = audit.verify(chain)
    assert report.ok and report.checked == _last_seq(chain)


def test_entry_links_to_previous(chain):
    entries = chain.query(AuditEntry).order_by(AuditEntry.seq).all()
    assert entries[0].prev_hash == audit.GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.hash


def test_database_refuses_update(chain):
    with pytest.raises(DBAPIError), chain.begin_nested():
        chain.execute(text("UPDATE audit_entries SET action = 'x' WHERE seq = 1"))


def test_database_refuses_delete(chain):
    with pytest.raises(DBAPIError), chain.begin_nested():
        chain.execute(text("DELETE FROM audit_entries WHERE seq = 1"))


def test_edit_detected(chain):
    _bypass_triggers(chain)
    target = _last_seq(chain) - 3
    chain.execute(
        text("UPDATE audit_entries SET after = :v WHERE seq = :s"), {"v": '{"n":99}', "s": target}
    )
    problem = audit.verify(chain).problem
    assert (problem.kind, problem.seq) == ("edited", target)


def test_delete_detected(chain):
    _bypass_triggers(chain)
    target = _last_seq(chain) - 2
    chain.execute(text("DELETE FROM audit_entries WHERE seq = :s"), {"s": target})
    problem = audit.verify(chain).problem
    assert (problem.kind, problem.seq) == ("deleted", target)


def test_delete_with_renumbering_detected(chain):
    _bypass_triggers(chain)
    last = _last_seq(chain)
    target = last - 2
    chain.execute(text("DELETE FROM audit_entries WHERE seq = :s"), {"s": target})
    for seq in range(target + 1, last + 1):
        chain.execute(
            text("UPDATE audit_entries SET seq = :n WHERE seq = :s"), {"n": seq - 1, "s": seq}
        )
    problem = audit.verify(chain).problem
    assert problem.kind == "deleted" and problem.seq == target


def test_reorder_detected(chain):
    _bypass_triggers(chain)
    last = _last_seq(chain)
    a, b = last - 3, last - 2
    chain.execute(text("UPDATE audit_entries SET seq = -1 WHERE seq = :a"), {"a": a})
    chain.execute(text("UPDATE audit_entries SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
    chain.execute(text("UPDATE audit_entries SET seq = :b WHERE seq = -1"), {"b": b})
    problem = audit.verify(chain).problem
    assert (problem.kind, problem.seq) == ("reordered", a)


def test_insert_detected(chain, world):
    _bypass_triggers(chain)
    last = _last_seq(chain)
    target = last - 1
    for seq in range(last, target - 1, -1):  # make room
        chain.execute(
            text("UPDATE audit_entries SET seq = :n WHERE seq = :s"), {"n": seq + 1, "s": seq}
        )
    previous = chain.get(AuditEntry, target - 1)
    # A well-formed forged entry; it cannot reuse its predecessor's hash as prev_hash, which
    # the successor holds (unique), so it carries another one.
    forged = AuditEntry(
        seq=target,
        at=previous.at,
        actor_id=None,
        actor_name="ghost",
        department_id=None,
        action="forged",
        object_type="thing",
        object_id="x",
        before=None,
        after=None,
        prev_hash="e" * 64,
    )
    forged.hash = audit.entry_hash(forged)
    chain.add(forged)
    chain.flush()
    problem = audit.verify(chain).problem
    assert (problem.kind, problem.seq) == ("inserted", target)


def test_truncation_detected_by_checkpoint(chain):
    today = dt.datetime.now(TZ).date()
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=1)):
        created = audit.ensure_checkpoints(chain, today=today + dt.timedelta(days=1), tz=TZ)
    assert created[-1].entry_count == _last_seq(chain)
    _bypass_triggers(chain)
    chain.execute(text("DELETE FROM audit_entries WHERE seq > :s"), {"s": _last_seq(chain) - 2})
    problem = audit.verify(chain).problem
    assert problem.kind == "truncated"


def test_truncation_detected_by_external_checkpoint(chain):
    last = _last_seq(chain)
    head = chain.get(AuditEntry, last).hash
    _bypass_triggers(chain)
    chain.execute(text("DELETE FROM audit_entries WHERE seq = :s"), {"s": last})
    report = audit.verify(chain, external_checkpoints=[(last, head)])
    assert report.problem.kind == "truncated"


def test_rewritten_chain_contradicts_checkpoint(chain):
    last = _last_seq(chain)
    report = audit.verify(chain, external_checkpoints=[(last, "f" * 64)])
    assert report.problem.kind == "checkpoint"


def test_checkpoints_are_idempotent_and_cover_each_day(chain):
    today = dt.datetime.now(TZ).date()
    later = today + dt.timedelta(days=3)
    first = audit.ensure_checkpoints(chain, today=later, tz=TZ)
    assert [c.day for c in first] == [today + dt.timedelta(days=n) for n in range(3)]
    assert audit.ensure_checkpoints(chain, today=later, tz=TZ) == []


def test_times_shown_in_shanghai(app, client, world, session):
    with time_machine.travel(dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC), tick=False):
        audit.record(session, actor=None, action="audit.verify", object_type="x", object_id=1)
    session.commit()
    login(client, "root")
    page = client.get("/console/audit?action=audit.verify").get_data(as_text=True)
    assert "2026-03-02 00:30:00" in page
