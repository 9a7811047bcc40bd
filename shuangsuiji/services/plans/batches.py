"""Recurring plans (周期抽查计划): periods, due times, activation, the values typed in per
batch, and committing and drawing one due batch (`draw_batch`) for the scheduler's job.

An administrator sets up the annual plan once (matters, scope, a yearly ratio per credit-risk
class, monthly / quarterly / yearly batches) and activates it. From then on each batch is
committed and drawn without anyone touching it:

- **Periods and batch keys.** Monthly "2026-12", quarterly "2026-Q4", yearly "2026"; a plan
  covers the periods of its plan year.
- **Due time.** A batch is due on the first working day of its period (the working-day
  calendar, 调休 included) at `SCHEDULER_BATCH_TIME`, Beijing time. Only periods due after
  the activation belong to the plan: a period that was already due when the plan was activated
  is not drawn.
- **Yearly split** (shuangsuiji/domain/yearly.py, pure). The plan's ratios are yearly. At each
  batch, per class, target = the SRDP-1 quota (§4) of the class's in-scope entities, and the
  batch draws ⌈(target − drawn by this plan's earlier batches) ÷ batches remaining⌉, this batch
  included. Entities drawn by an earlier batch are not eligible again in the same plan.
- **Randomness.** Nobody rolls dice at 09:00 on the first working day, so a batch's sources
  are a server secret and, if the plan names any, published values (a lottery result, a
  beacon output) an administrator types in for the batch before it falls due (`BatchValue`);
  a batch whose value is missing at its due time fails with that reason until it is entered.
  The server secrets form a hash chain fixed at activation (SRDP-1 §3.3,
  shuangsuiji/domain/chain.py, pure): batch j reveals s_j, its plan.json commits to
  hex(SHA256(s_j)) (the tip for j = 1, the previous batch's secret otherwise), and SHA-256
  applied j times to s_j gives the tip published at activation. The batch's bundle carries
  chain.json, and `shuangsuiji draw verify` checks the revealed value against it. One
  committed secret per batch would work too, but would publish twelve hashes instead of one.
- **Exactly once.** The scheduler's `batch_jobs.ensure_due` draws every due batch (`due`) that
  has no draw (`draw_batch`), and is run at start-up and on every tick, so a scheduler that was
  down over a month end catches up once. "Once" is the database's job: each batch runs in a
  write transaction that holds the plan's batch lock (`lock`: `pg_try_advisory_xact_lock` on
  PostgreSQL, where a second process skips the batch, or the SQLite write lock, BEGIN
  IMMEDIATE, where a second process waits, then sees the draw); the unique index on draws
  (plan, batch key, first draw) and the unique SRDP plan id of the commitment are the final
  guard. The transaction is the scheduler's (scheduler/batch_jobs.py); this module flushes.
- **Failures.** A batch that cannot be committed (capacity shortfall, an empty registry…) is
  recorded on its `PlanBatch` row with the reason, audited, shown on the plan page, and retried
  at a tick `SCHEDULER_RETRY_MINUTES` later.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...db import BatchValue, Commitment, Draw, DrawEntity, Plan, PlanBatch, User
from ...db.states import BatchStatus, PlanStatus
from ...domain import bundle as srdp_bundle
from ...domain import chain, srdp, yearly
from ...domain.periods import Period, periods
from ...errors import AppError, Conflict, Invalid
from ..platform import audit, workdays
from ..scope import require_admin_of
from . import commitments, draws, eligibility, participation, plans, settings

log = logging.getLogger(__name__)

PERIODS_PER_YEAR = {"monthly": 12, "quarterly": 4, "yearly": 1}
BATCH_STATUS_LABELS = {
    BatchStatus.DRAWN: "已抽取",
    BatchStatus.FAILED: "失败（将重试）",
    "pending": "待到期",
}
# pg_try_advisory_xact_lock(namespace, plan id): the two-key space, apart from the audit lock.
_PG_LOCK_NAMESPACE = 520261


# -- periods and due times -----------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """When batches fall due: the time of day (local), the zone, the wait before a retry."""

    batch_time: dt.time
    tz: ZoneInfo
    retry: dt.timedelta

    @classmethod
    def from_config(cls, config) -> Timing:
        raw = str(config["SCHEDULER_BATCH_TIME"])
        try:
            batch_time = dt.time.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"SCHEDULER_BATCH_TIME={raw!r}: expected HH:MM") from None
        return cls(
            batch_time,
            ZoneInfo(config["TIMEZONE"]),
            dt.timedelta(minutes=config["SCHEDULER_RETRY_MINUTES"]),
        )


def first_workday(period: Period, cal: workdays.Calendar) -> dt.date:
    """The first working day of the period (its first day if, improbably, none is)."""
    day = period.start
    while day <= period.end:
        if cal.is_workday(day):
            return day
        day += dt.timedelta(days=1)
    return period.start


def due_at(period: Period, cal: workdays.Calendar, timing: Timing) -> dt.datetime:
    """When the period's batch falls due, in UTC: its first working day at the batch time."""
    local = dt.datetime.combine(first_workday(period, cal), timing.batch_time, tzinfo=timing.tz)
    return local.astimezone(dt.UTC)


@dataclass(frozen=True)
class Scheduled:
    """One batch of a plan's schedule: the period and when it falls due (UTC)."""

    period: Period
    due: dt.datetime


def schedule(plan: Plan, cal: workdays.Calendar, timing: Timing) -> list[Scheduled]:
    """The plan's batches: the plan year's periods due after the activation (all of them while
    the plan is a draft)."""
    if plan.recurrence == "once" or plan.plan_year is None:
        return []
    entries = [
        Scheduled(p, due_at(p, cal, timing)) for p in periods(plan.recurrence, plan.plan_year)
    ]
    if plan.activated_at is None:
        return entries
    return [e for e in entries if e.due > plan.activated_at]


# -- the yearly split (domain/yearly.py) ---------------------------------------------------


def yearly_targets(plan: Plan, population: Counter) -> dict[str, int]:
    """Per class, how many the whole year must draw: the SRDP-1 quota of the in-scope count."""
    return yearly.targets(settings.config(plan)["strata"], population, plan.rounding)


def drawn_per_class(session: Session, plan: Plan) -> Counter:
    """Entities drawn by the plan's live draws, per class (as the draws stored them)."""
    query = (
        select(DrawEntity.stratum, func.count())
        .join(Draw, Draw.id == DrawEntity.draw_id)
        .where(Draw.plan_id == plan.id, Draw.id.in_(eligibility.live_draws()))
        .group_by(DrawEntity.stratum)
    )
    return Counter(dict(session.execute(query).all()))


# -- activation ----------------------------------------------------------------------------


def batches_of(session: Session, plan: Plan) -> dict[str, PlanBatch]:
    rows = session.scalars(select(PlanBatch).where(PlanBatch.plan_id == plan.id))
    return {b.key: b for b in rows}


def activate(
    session: Session, *, actor: User, plan_id: int, now: dt.datetime, timing: Timing
) -> Plan:
    """Start a recurring plan (draft → active): fix the hash chain and publish its tip."""
    plan = plans.get(session, actor, plan_id)
    require_admin_of(actor, plan.department_id)
    if plan.recurrence == "once":
        raise Conflict("一次性任务须承诺后举行抽取仪式，不能启用")
    if plan.status != PlanStatus.DRAFT:
        raise Conflict(f"任务状态为“{plans.STATUS_LABELS[plan.status]}”，不能启用")
    participation.require_consent(session, plan)
    cal = workdays.load(session)
    upcoming = [e for e in schedule(plan, cal, timing) if e.due > now]
    if not upcoming:
        raise Invalid(
            f"{plan.plan_year} 年度已没有尚未到期的批次，不能启用",
            errors={"plan_year": ["请选择尚未结束的年度"]},
        )
    length = PERIODS_PER_YEAR[plan.recurrence]
    seed = secrets.token_hex(32)
    before = plans.snapshot(plan)
    plan.chain_seed = seed
    plan.chain_tip = chain.tip(seed, length)
    plan.activated_at = now
    plan.status = PlanStatus.ACTIVE
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="plans.activate",
        object_type="plan",
        object_id=plan.id,
        before=before,
        after=plans.snapshot(plan)
        | {
            "chain_tip": plan.chain_tip,
            "chain_length": length,
            "batches": [{"key": e.period.key, "due": e.due.isoformat()} for e in upcoming],
        },
        department_id=plan.department_id,
    )
    return plan


# -- published values typed in for a batch ------------------------------------------------


def typed_sources(plan: Plan) -> list[dict]:
    """The plan's sources whose value is typed in per batch (kind text)."""
    return [s for s in settings.config(plan)["randomness"] if s["kind"] == "text"]


def values_of(session: Session, plan: Plan) -> dict[str, dict[str, BatchValue]]:
    """batch key → label → the value typed in."""
    found: dict[str, dict[str, BatchValue]] = {}
    for v in session.scalars(select(BatchValue).where(BatchValue.plan_id == plan.id)):
        found.setdefault(v.batch_key, {})[v.label] = v
    return found


@dataclass(frozen=True)
class TypedValue:
    """A published value as typed in: for which batch, which source, and where it was read."""

    batch_key: str
    label: str
    value: str
    source: str = ""


def enter_value(
    session: Session,
    *,
    actor: User,
    plan_id: int,
    typed: TypedValue,
    now: dt.datetime,
    timing: Timing,
) -> BatchValue:
    """Type in (or correct) a published value for a batch that has not been drawn."""
    batch_key, label, value, source = typed.batch_key, typed.label, typed.value, typed.source
    plan = plans.get(session, actor, plan_id)
    require_admin_of(actor, plan.department_id)
    if plan.status != PlanStatus.ACTIVE:
        raise Conflict("只有已启用的周期任务可以录入批次随机数")
    entries = {e.period.key: e for e in schedule(plan, workdays.load(session), timing)}
    if batch_key not in entries:
        raise Invalid("批次不存在", errors={"batch_key": ["请选择本计划的批次"]})
    batch = batches_of(session, plan).get(batch_key)
    if batch is not None and batch.status == BatchStatus.DRAWN:
        raise Conflict("该批次已经抽取，不能再录入随机数")
    spec = next((s for s in typed_sources(plan) if s["label"] == label), None)
    if spec is None:
        raise Invalid("计划未设置该随机源", errors={"label": ["请选择计划中的公开数值"]})
    try:
        canonical = srdp.canonical_value(srdp_bundle.RandomnessSource(label, "text"), value)
    except srdp.RandomnessError as exc:
        raise Invalid(
            "公开数值须为可打印的英文字符（数字、字母、符号），不能为空",
            errors={"value": ["格式有误"]},
        ) from exc
    if len(canonical) > 200:
        raise Invalid("公开数值过长", errors={"value": ["最多 200 个字符"]})
    row = values_of(session, plan).get(batch_key, {}).get(label)
    before = _value_snapshot(row) if row else None
    if row is None:
        row = BatchValue(plan_id=plan.id, batch_key=batch_key, label=label)
        session.add(row)
    row.value, row.source = canonical, (source.strip()[:200] or None)
    row.entered_at, row.entered_by_id = now, actor.id
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="batches.value",
        object_type="plan",
        object_id=plan.id,
        before=before,
        after=_value_snapshot(row),
        department_id=plan.department_id,
    )
    return row


def _value_snapshot(row: BatchValue) -> dict:
    return {
        "batch_key": row.batch_key,
        "label": row.label,
        "value": row.value,
        "source": row.source,
    }


def _typed_randomness(session: Session, plan: Plan, key: str) -> list[dict]:
    """The batch's typed values as draws.execute takes them; Invalid names what is missing."""
    entered = values_of(session, plan).get(key, {})
    missing = [s["label"] for s in typed_sources(plan) if s["label"] not in entered]
    if missing:
        raise Invalid(
            f"批次 {key} 未录入公开数值：{'、'.join(missing)}（录入后下次检查时抽取）",
            errors={"randomness": [f"请录入 {label}" for label in missing]},
        )
    return [
        {"label": v.label, "value": v.value} | ({"source": v.source} if v.source else {})
        for v in entered.values()
    ]


# -- one batch -----------------------------------------------------------------------------


def commit_batch(
    session: Session, plan: Plan, entry: Scheduled, *, remaining: int, today: dt.date
) -> Commitment:
    """Freeze the batch's inputs: this batch's counts, its link of the chain, the registry."""
    participation.require_consent(session, plan)
    population = eligibility.in_scope_counts(session, plan)
    targets = yearly_targets(plan, population)
    drawn = drawn_per_class(session, plan)
    counts = yearly.batch_counts(targets, drawn, remaining)
    secret = chain.secret(plan.chain_seed, entry.period.index, PERIODS_PER_YEAR[plan.recurrence])
    srdp_id = f"{plan.code}.{entry.period.key}"
    inputs = commitments.build_inputs(
        session,
        plan,
        srdp_id=srdp_id,
        today=today,
        batch_strata={code: {"count": k} for code, k in counts.items()},
        server_secret=secret,
    )
    inputs.summary["batch"] = {
        "key": entry.period.key,
        "index": entry.period.index,
        "remaining": remaining,
        "population": dict(population),
        "year_target": targets,
        "drawn_before": {code: drawn.get(code, 0) for code in targets},
        "counts": counts,
        "chain_tip": plan.chain_tip,
    }
    return commitments.store_commitment(
        session,
        plan,
        inputs,
        seq=plans.next_seq(session, plan),
        actor=None,
        action="batches.commit",
        batch_key=entry.period.key,
    )


def _batch_snapshot(batch: PlanBatch) -> dict:
    return {
        "plan_id": batch.plan_id,
        "key": batch.key,
        "status": batch.status,
        "attempts": batch.attempts,
        "error": batch.error,
        "commitment_id": batch.commitment_id,
        "draw_id": batch.draw_id,
    }


def record_attempt(
    session: Session,
    plan: Plan,
    entry: Scheduled,
    now: dt.datetime,
    *,
    draw: Draw | None = None,
    error: str | None = None,
) -> PlanBatch:
    """Write the attempt's outcome on the batch row (created at the first attempt), audited."""
    batch = session.scalar(
        select(PlanBatch).where(PlanBatch.plan_id == plan.id, PlanBatch.key == entry.period.key)
    )
    before = _batch_snapshot(batch) if batch else None
    if batch is None:
        batch = PlanBatch(
            plan_id=plan.id,
            key=entry.period.key,
            period_start=entry.period.start,
            period_end=entry.period.end,
            due_at=entry.due,
            attempts=0,
        )
        session.add(batch)
    batch.attempts += 1
    batch.last_attempt_at = now
    batch.status = BatchStatus.DRAWN if draw is not None else BatchStatus.FAILED
    batch.error = error
    if draw is not None:
        batch.commitment_id, batch.draw_id = draw.commitment_id, draw.id
    session.flush()
    audit.record(
        session,
        actor=None,
        action="batches.drawn" if draw is not None else "batches.fail",
        object_type="plan_batch",
        object_id=batch.id,
        before=before,
        after=_batch_snapshot(batch),
        department_id=plan.department_id,
    )
    return batch


def failure_text(exc: AppError) -> str:
    details = [m for messages in exc.errors.values() for m in messages]
    return "；".join([exc.message, *details]) if details else exc.message


@dataclass
class Outcome:
    """What ensure-due did with one due batch."""

    plan_id: int
    key: str
    result: str  # drawn | failed | already | busy | waiting | skipped
    draw_id: int | None = None
    error: str | None = None


class Raced(Exception):
    """Another process committed the batch first (a unique constraint refused ours)."""


def lock(session: Session, plan_id: int) -> bool:
    """Take the plan's batch lock in the caller's write transaction; False when another process
    holds it. pg_try_advisory_xact_lock on PostgreSQL (released at commit or rollback); the
    database write lock on SQLite (BEGIN IMMEDIATE: a second process waits its turn)."""
    if session.get_bind().dialect.name == "postgresql":
        return bool(
            session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:ns, :plan)"),
                {"ns": _PG_LOCK_NAMESPACE, "plan": plan_id},
            )
        )
    session.execute(text("SELECT 1"))  # takes the write lock now, not at the first write
    return True


def draw_batch(
    session: Session,
    plan_id: int,
    entry: Scheduled,
    *,
    remaining: int,
    now: dt.datetime,
    timing: Timing,
) -> Outcome:
    """Commit and draw one due batch unless it has its draw (or failed less than the retry
    interval ago), flushed into the caller's transaction, which holds `lock`. A failure is
    recorded on the batch row; Raced when another process drew the batch first (the caller
    rolls back)."""
    key = entry.period.key
    plan = session.get(Plan, plan_id)
    if plan is None or plan.status != PlanStatus.ACTIVE:
        return Outcome(plan_id, key, "skipped")
    batch = session.scalar(
        select(PlanBatch).where(PlanBatch.plan_id == plan_id, PlanBatch.key == key)
    )
    if batch is not None and batch.status == BatchStatus.DRAWN:
        return Outcome(plan_id, key, "already", batch.draw_id)
    if batch is not None and batch.last_attempt_at > now - timing.retry:
        return Outcome(plan_id, key, "waiting", error=batch.error)
    today = now.astimezone(timing.tz).date()
    try:
        with session.begin_nested():
            typed = _typed_randomness(session, plan, key)
            commitment = commit_batch(session, plan, entry, remaining=remaining, today=today)
            draw = draws.execute(session, actor=None, commitment_id=commitment.id, randomness=typed)
    except IntegrityError as exc:
        raise Raced from exc
    except AppError as exc:
        if "batch_key" in exc.errors:
            raise Raced from exc
        message = failure_text(exc)
        record_attempt(session, plan, entry, now, error=message)
        log.warning("batch %s of plan %s failed: %s", key, plan_id, message)
        return Outcome(plan_id, key, BatchStatus.FAILED, error=message)
    record_attempt(session, plan, entry, now, draw=draw)
    log.info("batch %s of plan %s drawn: draw %s", key, plan_id, draw.id)
    return Outcome(plan_id, key, BatchStatus.DRAWN, draw.id)


def due(session: Session, now: dt.datetime, timing: Timing) -> list[tuple[int, Scheduled, int]]:
    """(plan id, batch, batches remaining) for every batch due by `now` with no draw, oldest
    period first; a batch that failed less than the retry interval ago waits."""
    cal = workdays.load(session)
    found = []
    active = session.scalars(
        select(Plan)
        .where(Plan.status == PlanStatus.ACTIVE, Plan.recurrence != "once")
        .order_by(Plan.id)
    )
    for plan in active:
        entries = schedule(plan, cal, timing)
        done = batches_of(session, plan)
        for i, entry in enumerate(entries):
            if entry.due > now:
                break
            batch = done.get(entry.period.key)
            if batch is not None and (
                batch.status == BatchStatus.DRAWN or batch.last_attempt_at > now - timing.retry
            ):
                continue
            found.append((plan.id, entry, len(entries) - i))
    return found


def next_due(session: Session, now: dt.datetime, timing: Timing) -> dict[int, dt.datetime]:
    """Per active plan, when its next batch falls due after `now` (plans with none left are
    left out): the scheduler sets a job at each."""
    cal = workdays.load(session)
    result = {}
    for plan in session.scalars(select(Plan).where(Plan.status == PlanStatus.ACTIVE)):
        upcoming = [e.due for e in schedule(plan, cal, timing) if e.due > now]
        if upcoming:
            result[plan.id] = upcoming[0]
    return result


# -- the plan page -------------------------------------------------------------------------


@dataclass
class BatchRow:
    entry: Scheduled
    batch: PlanBatch | None
    commitment: Commitment | None
    summary: dict | None
    values: dict[str, BatchValue]

    @property
    def status(self) -> str:
        return self.batch.status if self.batch else "pending"


def overview(session: Session, plan: Plan, timing: Timing) -> list[BatchRow]:
    """The plan's schedule with each batch's state, commitment and counts, in period order."""
    done = batches_of(session, plan)
    typed = values_of(session, plan)
    rows = []
    for entry in schedule(plan, workdays.load(session), timing):
        batch = done.get(entry.period.key)
        commitment = (
            session.get(Commitment, batch.commitment_id) if batch and batch.commitment_id else None
        )
        summary = commitment.summary_doc if commitment else None
        rows.append(BatchRow(entry, batch, commitment, summary, typed.get(entry.period.key, {})))
    return rows
