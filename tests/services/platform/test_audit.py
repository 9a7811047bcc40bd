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


# -- verification from the last checkpoint -------------------------------------------------


def _more(session, world, count):
    for n in range(count):
        audit.record(
            session,
            actor=world["admin_a"],
            action="workday.add",
            object_type="thing",
            object_id=100 + n,
            after={"n": n},
        )
    session.flush()


def _edit(session, seq):
    session.execute(
        text("UPDATE audit_entries SET after = :v WHERE seq = :s"), {"v": '{"n":99}', "s": seq}
    )


def test_a_successful_verification_records_its_checkpoint_and_the_next_starts_there(chain, world):
    first = audit.verify(chain)
    checkpoint = audit.record_verified(chain, first)
    assert (checkpoint.seq, checkpoint.head_hash, checkpoint.full) == (6, first.head_hash, True)
    assert audit.last_verified(chain).id == checkpoint.id
    _more(chain, world, 4)
    report = audit.verify(chain, since=audit.last_verified(chain))
    assert report.ok and (report.from_seq, report.checked, report.head_seq) == (6, 4, 10)
    assert report.head_hash == audit.verify(chain).head_hash
    nothing_new = audit.record_verified(chain, report)
    assert (nothing_new.full, nothing_new.checked) == (False, 4)
    again = audit.verify(chain, since=nothing_new)
    assert again.ok and again.checked == 0 and again.head_seq == 10


def test_an_edit_after_the_checkpoint_is_found_by_the_incremental_verification(chain, world):
    audit.record_verified(chain, audit.verify(chain))
    _more(chain, world, 4)
    _bypass_triggers(chain)
    _edit(chain, 8)
    report = audit.verify(chain, since=audit.last_verified(chain))
    assert (report.problem.kind, report.problem.seq) == ("edited", 8)
    assert audit.record_verified(chain, report) is None  # the checkpoint stays at 6


def test_an_edit_before_the_checkpoint_was_found_by_the_earlier_verification(chain, world):
    audit.record_verified(chain, audit.verify(chain))  # checkpoint at 6
    _more(chain, world, 4)
    _bypass_triggers(chain)
    _edit(chain, 8)
    earlier = audit.verify(chain, since=audit.last_verified(chain))
    assert [p.seq for p in earlier.problems] == [8]
    assert audit.record_verified(chain, earlier) is None
    _more(chain, world, 2)
    # No checkpoint was recorded past the edit: every later verification still reads it.
    later = audit.verify(chain, since=audit.last_verified(chain))
    assert [p.seq for p in later.problems] == [8]


def test_the_full_verification_finds_edits_before_and_after_the_checkpoint(chain, world):
    audit.record_verified(chain, audit.verify(chain))  # checkpoint at 6
    _more(chain, world, 4)
    _bypass_triggers(chain)
    _edit(chain, 3)  # after the checkpoint was taken, in the part it covers
    _edit(chain, 9)
    incremental = audit.verify(chain, since=audit.last_verified(chain))
    assert [p.seq for p in incremental.problems] == [9]
    full = audit.verify(chain)
    assert [(p.kind, p.seq) for p in full.problems] == [("edited", 3), ("edited", 9)]
    assert full.checked == 10
    # Read in keyset batches of two, the result is the same.
    assert [p.seq for p in audit.verify(chain, batch=2).problems] == [3, 9]


def test_a_rewritten_or_cut_checkpoint_entry_is_reported(chain, world):
    checkpoint = audit.record_verified(chain, audit.verify(chain))
    _bypass_triggers(chain)
    chain.execute(
        text("UPDATE audit_entries SET hash = :h WHERE seq = :s"), {"h": "c" * 64, "s": 6}
    )
    report = audit.verify(chain, since=checkpoint)
    assert (report.problem.kind, report.problem.seq) == ("checkpoint", 6)
    chain.execute(text("DELETE FROM audit_entries WHERE seq >= 5"))
    report = audit.verify(chain, since=checkpoint)
    assert (report.problem.kind, report.problem.seq) == ("truncated", 6)


def test_the_verification_checkpoints_are_append_only(chain):
    checkpoint = audit.record_verified(chain, audit.verify(chain))
    with pytest.raises(DBAPIError), chain.begin_nested():
        chain.execute(
            text("UPDATE audit_verifications SET seq = 1 WHERE id = :i"), {"i": checkpoint.id}
        )
