"""The audit trail (全过程记录): one function records every change, and the chain is verifiable.

Each entry's hash covers its content and the previous entry's hash, so editing, deleting,
inserting or reordering entries breaks the chain; the daily checkpoints published on the public
site make truncating the tail or rewriting the whole chain detectable from outside.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ...db import AuditCheckpoint, AuditEntry, AuditVerification, User, utcnow
from ...errors import Forbidden
from ..pages import Keyset, keyset
from ..scope import is_dept_admin, reads_all
from . import audit_actions, redaction

GENESIS = "0" * 64
SYSTEM_ACTOR = "system"
# An arbitrary constant naming the audit chain's lock on PostgreSQL.
_PG_LOCK_KEY = 0x5353_4A41_5544_4954 & 0x7FFF_FFFF_FFFF_FFFF


def canonical_json(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _format_at(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 over the previous hash and the entry's content (not its storage position)."""
    content = json.dumps(
        [
            _format_at(entry.at),
            entry.actor_id,
            entry.actor_name,
            entry.department_id,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.before,
            entry.after,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(f"{entry.prev_hash}\n{content}".encode()).hexdigest()


def _lock_chain(session: Session) -> None:
    # SQLite write transactions already hold the database's single write lock (BEGIN IMMEDIATE).
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id,
    before: dict | None = None,
    after: dict | None = None,
    department_id: int | None = None,
) -> AuditEntry:
    """Append one entry to the chain. `before`/`after` are JSON-able snapshots of the object
    (sensitive fields are stored masked, see redaction.py); `action` is a code of
    audit_actions.ACTIONS (ValueError otherwise)."""
    audit_actions.require_known(action)
    _lock_chain(session)
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    entry = AuditEntry(
        seq=(head.seq + 1) if head else 1,
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.username if actor is not None else SYSTEM_ACTOR,
        department_id=department_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        # ID numbers, phones and e-mail addresses go in masked, with a keyed HMAC (redaction).
        before=canonical_json(redaction.protect(before)),
        after=canonical_json(redaction.protect(after)),
        prev_hash=head.hash if head else GENESIS,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


def update_recorded(
    session: Session,
    *,
    actor: User,
    obj,
    values: dict,
    snapshot,
    action: str,
    object_type: str,
) -> tuple[dict, dict]:
    """Set `values` on `obj` and record the change with before/after snapshots (nothing is
    recorded when nothing changed). The entry's department is the object's own, or the
    object itself for a department."""
    before = snapshot(obj)
    for name, value in values.items():
        setattr(obj, name, value)
    session.flush()
    after = snapshot(obj)
    if after != before:
        record(
            session,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=obj.id,
            before=before,
            after=after,
            department_id=getattr(obj, "department_id", obj.id),
        )
    return before, after


@dataclass
class Problem:
    kind: str  # edited | deleted | inserted | reordered | truncated | checkpoint
    seq: int
    message: str


# Edited entries are all named (up to this many); a broken link stops the verification.
MAX_PROBLEMS = 100
# Entries read per statement: the chain is read in keyset batches (seq > last), so memory
# stays bounded however long the chain is.
BATCH = 5000


@dataclass
class VerifyReport:
    checked: int = 0  # entries re-computed by this verification
    head_hash: str = GENESIS
    problem: Problem | None = None  # the first problem found
    checkpoints_checked: int = 0
    notes: list[str] = field(default_factory=list)
    head_seq: int = 0  # the last entry verified
    from_seq: int = 0  # the entry it started after (0: the whole chain)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def full(self) -> bool:
        return self.from_seq == 0

    def found(self, problem: Problem) -> None:
        if self.problem is None:
            self.problem = problem
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head_hash": self.head_hash,
            "head_seq": self.head_seq,
            "from_seq": self.from_seq,
            "checkpoints_checked": self.checkpoints_checked,
            "problem": None if self.problem is None else vars(self.problem),
            "problems": [vars(p) for p in self.problems],
        }


def _classify_break(session: Session, entry, prev) -> Problem:
    """Name what happened where an entry does not link to the one stored before it."""
    prev_seq = prev.seq if prev else 0
    prev_hash = prev.hash if prev else GENESIS
    if entry.seq > prev_seq + 1:
        return Problem("deleted", prev_seq + 1, f"第 {prev_seq + 1}–{entry.seq - 1} 条已被删除")
    linked = session.execute(
        select(AuditEntry.seq).where(AuditEntry.hash == entry.prev_hash)
    ).scalar_one_or_none()
    if linked is not None and linked > entry.seq:
        return Problem("reordered", entry.seq, f"第 {entry.seq} 条的位置被调换")
    following = session.scalar(
        select(AuditEntry.prev_hash)
        .where(AuditEntry.seq > entry.seq)
        .order_by(AuditEntry.seq)
        .limit(1)
    )
    if following == prev_hash:
        return Problem("inserted", entry.seq, f"第 {entry.seq} 条是被插入的条目")
    if linked is None:
        return Problem("deleted", entry.seq, f"第 {entry.seq} 条之前的条目已被删除（序号被改写）")
    return Problem("inserted", linked + 1, f"第 {linked + 1} 条起有被插入的条目")


_COLUMNS = (
    AuditEntry.seq,
    AuditEntry.at,
    AuditEntry.actor_id,
    AuditEntry.actor_name,
    AuditEntry.department_id,
    AuditEntry.action,
    AuditEntry.object_type,
    AuditEntry.object_id,
    AuditEntry.before,
    AuditEntry.after,
    AuditEntry.prev_hash,
    AuditEntry.hash,
)


def _entries_after(session: Session, seq: int, batch: int):
    """The entries after `seq` in order, as rows (no ORM objects), `batch` per statement."""
    while True:
        rows = session.execute(
            select(*_COLUMNS).where(AuditEntry.seq > seq).order_by(AuditEntry.seq).limit(batch)
        ).all()
        yield from rows
        if len(rows) < batch:
            return
        seq = rows[-1].seq


@dataclass(frozen=True)
class _Point:
    seq: int
    hash: str


def last_verified(session: Session) -> AuditVerification | None:
    """The checkpoint of the latest verification that found the chain intact."""
    return session.scalar(select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1))


def verify(
    session: Session,
    *,
    since: AuditVerification | None = None,
    external_checkpoints: list[tuple[int, str]] = (),
    progress: Callable[[int, int], None] | None = None,
    batch: int = BATCH,
) -> VerifyReport:
    """Re-compute the chain and name the problems found (every edited entry, or the first
    broken link).

    From the first entry, or with `since` (a verification checkpoint, `last_verified`) from
    the entry after it: the entry it ends at must still carry the hash it recorded, and the
    entries after it are re-computed; what lies before it was verified then and is not read
    again (`--full` does). Checks, in order: every entry's hash, every link to the previous
    entry, contiguous sequence numbers, then each stored daily checkpoint (from the verified
    one on) and each `(entry_count, head_hash)` given by an outsider (a checkpoint that no
    longer matches means the tail was cut or rewritten). Reads only: `record_verified` keeps
    the checkpoint of a successful one.
    """
    report = VerifyReport()
    prev: _Point | None = None
    if since is not None:
        report.from_seq = report.head_seq = since.seq
        report.head_hash = since.head_hash
        stored = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == since.seq))
        if stored is None:
            report.found(
                Problem(
                    "truncated",
                    since.seq,
                    f"上次校验至第 {since.seq} 条，该条已不存在：日志被截断或序号被改写",
                )
            )
            return report
        if stored != since.head_hash:
            report.found(
                Problem(
                    "checkpoint",
                    since.seq,
                    f"第 {since.seq} 条的哈希与上次校验记录的不符：已校验的部分被改写",
                )
            )
            return report
        prev = _Point(since.seq, since.head_hash)
    total = session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.seq > report.from_seq)
    )
    for entry in _entries_after(session, report.from_seq, batch):
        expected_prev = prev.hash if prev else GENESIS
        if entry.prev_hash != expected_prev or entry.seq != (prev.seq + 1 if prev else 1):
            report.found(_classify_break(session, entry, prev))
            break
        if entry_hash(entry) != entry.hash:
            # The stored hash still links the next entry: go on, to name every edited one.
            report.found(Problem("edited", entry.seq, f"第 {entry.seq} 条的内容被修改"))
        report.checked += 1
        report.head_seq, report.head_hash = entry.seq, entry.hash
        prev = _Point(entry.seq, entry.hash)
        if progress is not None and report.checked % 5000 == 0:
            progress(report.checked, total)
    if report.problem is not None:
        return report

    stored_checkpoints = select(AuditCheckpoint).order_by(AuditCheckpoint.day)
    if report.from_seq:
        stored_checkpoints = stored_checkpoints.where(
            AuditCheckpoint.entry_count >= report.from_seq
        )
    checkpoints = [
        (c.entry_count, c.head_hash, f"{c.day.isoformat()} 检查点")
        for c in session.scalars(stored_checkpoints)
    ] + [(count, head, "外部检查点") for count, head in external_checkpoints]
    for count, head, label in checkpoints:
        report.checkpoints_checked += 1
        if count == 0:
            continue
        if count > report.head_seq:
            report.found(
                Problem(
                    "truncated",
                    report.head_seq + 1,
                    f"{label}记录了 {count} 条，现仅有 {report.head_seq} 条：日志尾部被截断",
                )
            )
            return report
        at_count = session.execute(
            select(AuditEntry.hash).where(AuditEntry.seq == count)
        ).scalar_one()
        if at_count != head:
            report.found(
                Problem("checkpoint", count, f"{label}的第 {count} 条哈希不符：日志被整体改写")
            )
            return report
    return report


def record_verified(session: Session, report: VerifyReport) -> AuditVerification | None:
    """Keep the checkpoint of a verification that found the chain intact (None otherwise):
    the next verification starts after it. Flushes, never commits."""
    if not report.ok or report.head_seq == 0:
        return None
    checkpoint = AuditVerification(
        seq=report.head_seq, head_hash=report.head_hash, full=report.full, checked=report.checked
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def day_bounds(day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)


def ensure_checkpoints(session: Session, *, today: dt.date, tz: ZoneInfo) -> list[AuditCheckpoint]:
    """Create the checkpoint of every finished day that has none yet (idempotent)."""
    last = session.scalar(select(func.max(AuditCheckpoint.day)))
    if last is None:
        first_at = session.scalar(select(func.min(AuditEntry.at)))
        if first_at is None:
            return []
        day = first_at.astimezone(tz).date()
    else:
        day = last + dt.timedelta(days=1)
    created = []
    while day < today:
        _, end = day_bounds(day, tz)
        head = session.execute(
            select(AuditEntry.seq, AuditEntry.hash)
            .where(AuditEntry.at < end)
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).first()
        checkpoint = AuditCheckpoint(
            day=day,
            entry_count=head.seq if head else 0,
            head_hash=head.hash if head else GENESIS,
        )
        session.add(checkpoint)
        created.append(checkpoint)
        day += dt.timedelta(days=1)
    session.flush()
    return created


def visible_entries(
    session: Session,
    actor: User,
    *,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_name: str | None = None,
    hmac: str | None = None,
):
    """The audit entries the actor may read, newest first, as a select().

    The system admin and the auditor read everything; a department admin reads the entries of
    their own department; nobody else reads the trail. `hmac`: only the entries naming the
    sensitive value with that keyed HMAC (redaction.search_fingerprint).
    """
    query = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if not reads_all(actor):
        if not is_dept_admin(actor):
            raise Forbidden("无权查看审计日志")
        query = query.where(AuditEntry.department_id == actor.department_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if actor_name:
        query = query.where(AuditEntry.actor_name == actor_name)
    if hmac:
        needle = f'"hmac":"{hmac}"'
        query = query.where(
            AuditEntry.before.contains(needle, autoescape=True)
            | AuditEntry.after.contains(needle, autoescape=True)
        )
    return query


NEWEST_ENTRIES = ((AuditEntry.seq, True),)


def page_entries(
    session: Session, actor: User, *, cursor: str | None, limit: int, **filters
) -> Keyset:
    """One page of visible_entries after `cursor`, newest first, never counting the trail."""
    query = visible_entries(session, actor, **filters)
    return keyset(session, query, NEWEST_ENTRIES, cursor=cursor, limit=limit)


def checkpoints(session: Session, *, limit: int = 60) -> list[AuditCheckpoint]:
    """The newest `limit` checkpoints (a summary; every one is reachable by checkpoint_page)."""
    return list(
        session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.day.desc()).limit(limit))
    )


NEWEST_CHECKPOINTS = ((AuditCheckpoint.day, True),)


def checkpoint_page(session: Session, *, cursor: str | None, limit: int) -> Keyset:
    """One page of the checkpoints, newest day first, back to the first day of the trail."""
    return keyset(session, select(AuditCheckpoint), NEWEST_CHECKPOINTS, cursor=cursor, limit=limit)


# -- reading an entry ----------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    """One field of an entry's before/after snapshots, as a person reads it."""

    name: str
    label: str
    before: str
    after: str
    changed: bool


@dataclass(frozen=True)
class ReadableEntry:
    """An entry as the audit page and the API show it. `before`/`after`: the stored JSON, or,
    when an older entry holds a sensitive value in clear, that JSON with the value masked
    (`redacted`; the stored row and its hash are unchanged)."""

    entry: AuditEntry
    action_label: str
    object_label: str
    fields: list[FieldChange]
    before: str | None
    after: str | None
    redacted: bool
    sentence: str = ""


# Snapshot fields that name the object in an entry's sentence, the first one present.
NAMING_FIELDS = ("name", "title", "display_name", "username", "code", "date")


def sentence(entry: AuditEntry, action_label: str, object_label: str, before, after) -> str:
    """The entry as one sentence: who did what to which object, and which fields changed
    ("admin_a 修改检查对象：检查对象 #12（香河县恒达商贸有限公司），改动了企业名称、登记状态。")."""
    who = "系统" if entry.actor_name == SYSTEM_ACTOR else entry.actor_name
    what = object_label if entry.object_id in (None, "") else f"{object_label} #{entry.object_id}"
    snapshot = after or before
    named = next((snapshot[k] for k in NAMING_FIELDS if isinstance(snapshot.get(k), str)), None)
    if named:
        what += f"（{named}）"
    text = f"{who} {action_label}：{what}"
    changed = [
        audit_actions.field_label(name)
        for name in after
        if before and name in before and before[name] != after[name]
    ]
    if changed:
        text += "，改动了" + "、".join(changed)
    return text + "。"


def _decoded(text_value: str | None):
    if text_value is None:
        return None
    try:
        return json.loads(text_value)
    except ValueError:
        return text_value


def _as_fields(value) -> dict:
    if value is None:
        return {}
    return value if isinstance(value, dict) else {"value": value}


def display_value(value) -> str:
    """A snapshot value as text: yes/no, lists joined, a masked value as masked, nested
    objects as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if redaction.is_protected(value):
        return value["masked"]
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return "、".join(display_value(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    return str(value)


def _shown(text_value: str | None) -> tuple[object, str | None, bool]:
    value, redacted = redaction.redact(_decoded(text_value))
    return value, canonical_json(value) if redacted else text_value, redacted


def readable(entry: AuditEntry) -> ReadableEntry:
    """The entry with Chinese labels and its snapshots as a field table (before → after)."""
    before_value, before_text, before_redacted = _shown(entry.before)
    after_value, after_text, after_redacted = _shown(entry.after)
    before, after = _as_fields(before_value), _as_fields(after_value)
    names = list(before) + [name for name in after if name not in before]
    fields = [
        FieldChange(
            name,
            audit_actions.field_label(name),
            display_value(before.get(name)),
            display_value(after.get(name)),
            bool(before) and bool(after) and before.get(name) != after.get(name),
        )
        for name in names
    ]
    action_label = audit_actions.label(entry.action)
    object_label = audit_actions.object_label(entry.object_type)
    return ReadableEntry(
        entry,
        action_label,
        object_label,
        fields,
        before_text,
        after_text,
        before_redacted or after_redacted,
        sentence(entry, action_label, object_label, before, after),
    )
