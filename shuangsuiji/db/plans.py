"""Plans (抽查任务) and their draws: the commitment, the draw and the replacements.

A plan is edited while it is a draft. Committing it freezes its inputs in a `Commitment`: the
four SRDP-1 files byte for byte with their hashes. A `Draw` runs on one commitment; its sample
and teams are stored row by row for the console and as the manifest for auditors. Commitments,
draws, their rows and replacements are append-only: the database refuses UPDATE and DELETE
(triggers created by the migration, see immutable.py). A redraw is a new commitment and a new
draw that names the draw it supersedes and why.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ..domain import bundle as srdp_bundle
from .accounts import Department
from .base import Base, utcnow
from .documents import (
    CommitmentSummary,
    DrawSummary,
    RandomnessEntry,
    RandomnessSpec,
    ScopeFilters,
    StratumRule,
    decode,
)
from .registry import Matter
from .states import BatchStatus, ParticipationStatus, PlanStatus, check_in

PLAN_STATUSES = tuple(PlanStatus)
# once: one draw (the ceremony); the others: a batch per period of the plan year, drawn by the
# scheduler process (services/plans/batches.py).
RECURRENCES = ("once", "monthly", "quarterly", "yearly")
BATCH_STATUSES = tuple(BatchStatus)
# Tables the database keeps append-only (the migration installs the triggers).
APPEND_ONLY = (
    "plan_commitments",
    "draws",
    "draw_entities",
    "draw_assignments",
    "draw_replacements",
)

# 配合部门: the departments that take part in a joint plan besides the lead (发起) department,
# kept equal to the department codes of its team slots (services/plans/plans.py).
plan_departments = Table(
    "plan_departments",
    Base.metadata,
    Column("plan_id", ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id"), primary_key=True),
    Index("ix_plan_departments_department_id", "department_id"),
)


PARTICIPATION_STATUSES = tuple(ParticipationStatus)

plan_matters = Table(
    "plan_matters",
    Base.metadata,
    Column("plan_id", ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True),
    Column("matter_id", ForeignKey("matters.id"), primary_key=True),
)


class Plan(Base):
    """抽查任务: what to draw from which registry, how many per class, and who may go.

    A joint plan (跨部门联合抽查) is owned by its lead department, whose registry is drawn
    from; the participating departments (`participants`) each have slots in every team and may
    add their own matters, and their users see the plan and their own part of each team.

    JSON columns hold lists and small objects (scope filters, strata, slots, randomness).
    """

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default=PlanStatus.DRAFT)
    recurrence: Mapped[str] = mapped_column(String(10), default="once")
    plan_year: Mapped[int | None]
    activated_at: Mapped[dt.datetime | None]
    # The server-secret hash chain of a recurring plan (services/plans/batches.py): the tip is
    # public from activation, the seed never leaves the server (each batch reveals one link).
    chain_tip: Mapped[str | None] = mapped_column(String(64))
    chain_seed: Mapped[str | None] = deferred(mapped_column(String(64)))
    scope: Mapped[str] = mapped_column(Text, default="{}")
    strata: Mapped[str] = mapped_column(Text)
    rounding: Mapped[str] = mapped_column(String(8), default="ceil")
    slots: Mapped[str] = mapped_column(Text)
    region_rule: Mapped[str] = mapped_column(String(10), default="none")
    selection: Mapped[str] = mapped_column(String(12), default="uniform")
    workload_cap: Mapped[int] = mapped_column(default=20)
    cooldown_months: Mapped[int] = mapped_column(default=0)
    annual_cap: Mapped[int | None]
    exclude_open: Mapped[bool] = mapped_column(default=True)
    required_qualifications: Mapped[str | None] = mapped_column(String(300))
    randomness: Mapped[str] = mapped_column(Text)
    publish_mode: Mapped[str] = mapped_column(String(16), default="after_fieldwork")
    fieldwork_start: Mapped[dt.date | None] = mapped_column(Date)
    fieldwork_end: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship()
    matters: Mapped[list[Matter]] = relationship(secondary=plan_matters, order_by=Matter.code)
    participants: Mapped[list[Department]] = relationship(
        secondary=plan_departments, order_by=Department.code
    )

    __table_args__ = (
        CheckConstraint(check_in("status", PlanStatus), name="status"),
        CheckConstraint(
            "recurrence IN ('once', 'monthly', 'quarterly', 'yearly')", name="recurrence"
        ),
        CheckConstraint("rounding IN ('ceil', 'floor', 'half_up')", name="rounding"),
        CheckConstraint("region_rule IN ('none', 'different', 'same')", name="region_rule"),
        CheckConstraint("selection IN ('uniform', 'least_loaded')", name="selection"),
        CheckConstraint("publish_mode IN ('immediate', 'after_fieldwork')", name="publish_mode"),
        Index("ix_plans_department_id", "department_id"),
    )

    # The JSON columns, decoded (db/documents.py).
    @property
    def scope_filters(self) -> ScopeFilters:
        return decode(self.scope, {})

    @property
    def strata_rules(self) -> dict[str, StratumRule]:
        return decode(self.strata, {})

    @property
    def slot_codes(self) -> list[str]:
        """The department code (or "*") of each slot of a team, in slot order."""
        return decode(self.slots, [])

    @property
    def randomness_sources(self) -> list[RandomnessSpec]:
        return decode(self.randomness, [])


class Commitment(Base):
    """承诺: a plan's frozen inputs, the four files byte for byte, and their digest.

    The files are deferred: loading a commitment does not pull megabytes of TSV. `server_secret`
    is revealed only in the manifest of the draw that used it.
    """

    __tablename__ = "plan_commitments"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    seq: Mapped[int]
    batch_key: Mapped[str | None] = mapped_column(String(16))
    srdp_id: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str | None] = mapped_column(Text)
    plan_json: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    entities_tsv: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    inspectors_tsv: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    exclusions_tsv: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    sha256sums: Mapped[str] = mapped_column(Text)
    snapshot: Mapped[str] = mapped_column(String(64))
    server_secret_sha256: Mapped[str | None] = mapped_column(String(64))
    server_secret: Mapped[str | None] = deferred(mapped_column(String(64)))
    summary: Mapped[str] = mapped_column(Text)
    committed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    committed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    plan: Mapped[Plan] = relationship()

    __table_args__ = (
        UniqueConstraint("plan_id", "seq"),
        # The public list's first year (min) and its year filter (migration 0016).
        Index("ix_plan_commitments_committed_at", "committed_at"),
    )

    @property
    def summary_doc(self) -> CommitmentSummary:
        return CommitmentSummary.parse(self.summary)

    @property
    def srdp_plan(self) -> srdp_bundle.Plan:
        """plan.json of the commitment, parsed (SRDP-1 §2.3)."""
        return srdp_bundle.parse_plan(self.plan_json)


class Draw(Base):
    """抽取结果: one draw of one commitment (at most one: a unique constraint settles a race).

    `supersedes_id` names the draw this one replaces (a redraw, with `reason`).
    """

    __tablename__ = "draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    commitment_id: Mapped[int] = mapped_column(ForeignKey("plan_commitments.id"), unique=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("draws.id"), unique=True)
    batch_key: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    randomness: Mapped[str] = mapped_column(Text)
    seed: Mapped[str] = mapped_column(String(64))
    sample_sha256: Mapped[str] = mapped_column(String(64))
    assignment_sha256: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    manifest: Mapped[str] = deferred(mapped_column(Text, nullable=False))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    plan: Mapped[Plan] = relationship()
    commitment: Mapped[Commitment] = relationship()

    @property
    def summary_doc(self) -> DrawSummary:
        return DrawSummary.parse(self.summary)

    @property
    def randomness_entries(self) -> list[RandomnessEntry]:
        return RandomnessEntry.parse_list(self.randomness)

    @property
    def manifest_doc(self) -> dict:
        """The SRDP-1 manifest (§7.1) as stored at the draw, a fresh dict each time."""
        return json.loads(self.manifest)

    __table_args__ = (
        Index("ix_draws_plan_id", "plan_id"),
        # One draw per plan and batch: only a recorded redraw (which names the draw it
        # supersedes) adds a second. The scheduler's locks make races rare; this settles them.
        Index(
            "uq_draws_plan_batch_first",
            "plan_id",
            "batch_key",
            unique=True,
            sqlite_where=text("batch_key IS NOT NULL AND supersedes_id IS NULL"),
            postgresql_where=text("batch_key IS NOT NULL AND supersedes_id IS NULL"),
        ),
    )


class DrawEntity(Base):
    """抽中对象: one drawn entity, its stratum, rank, ticket and processing position."""

    __tablename__ = "draw_entities"

    # (draw, position in processing order) is the key: a draw writes tens of thousands of these
    # rows at once, so no surrogate id, only the indexes that queries need, and no foreign key
    # checked per row: not to draws (the rows are written with their draw, which is never
    # deleted), not to entities (the ids come from the registry in the draw's transaction; a
    # trigger refuses to delete an entity any draw names, migration 0010).
    draw_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    entity_id: Mapped[int]
    uscc: Mapped[str] = mapped_column(String(18))
    stratum: Mapped[str] = mapped_column(String(32))
    rank: Mapped[int]
    ticket: Mapped[str] = mapped_column(String(80))  # "0." + 18 digits after any run of 9s

    __table_args__ = (
        Index("ix_draw_entities_entity_id", "entity_id"),
        Index("ix_draw_entities_uscc", "uscc"),
    )


class DrawAssignment(Base):
    """检查组成员: the inspector the draw put in one slot (none: the slot is unstaffed)."""

    __tablename__ = "draw_assignments"

    draw_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # see above
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    slot: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    inspector_id: Mapped[int | None]  # no foreign key, a delete guard: see DrawEntity
    phase: Mapped[int | None]
    n_avail: Mapped[int | None]
    u: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_draw_assignments_inspector_id", "inspector_id"),)


class DrawReplacement(Base):
    """人员替换: the n-th replacement of a draw (SRDP-1 §6.5), who asked and why."""

    __tablename__ = "draw_replacements"

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"))
    n: Mapped[int]
    position: Mapped[int]
    slot: Mapped[int]
    withdrawn_id: Mapped[int] = mapped_column(ForeignKey("inspectors.id"))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("inspectors.id"))
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    n_avail: Mapped[int]
    u: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (UniqueConstraint("draw_id", "n"),)


class PlanBatch(Base):
    """抽查批次: one period of a recurring plan (e.g. "2026-12", "2026-Q4", "2026").

    Written by the scheduler when it attempts the batch: `drawn` with the commitment and draw,
    or `failed` with the reason (shown on the plan page; retried at a later tick). Periods not
    yet attempted have no row. One row per plan and period.
    """

    __tablename__ = "plan_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    key: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[dt.datetime]
    commitment_id: Mapped[int | None] = mapped_column(ForeignKey("plan_commitments.id"))
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("draws.id"))

    plan: Mapped[Plan] = relationship()

    __table_args__ = (
        UniqueConstraint("plan_id", "key"),
        CheckConstraint(check_in("status", BatchStatus), name="status"),
    )


class BatchValue(Base):
    """批次随机数: a published value (a lottery result, a beacon output) an administrator types
    in for one batch of a recurring plan before it falls due; it enters the batch's seed beside
    the server secret. It may be corrected until the batch is drawn."""

    __tablename__ = "batch_values"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    batch_key: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(200))
    entered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (UniqueConstraint("plan_id", "batch_key", "label"),)


class PlanParticipation(Base):
    """参加确认: the answer of a department a joint plan names (a 配合部门) to the lead
    department's request. The plan is committed (or activated) only when every participant
    has accepted; until then the lead sees counts of the participant's inspectors, no names.
    One row per plan and participating department; it is reset to pending when the draft
    changes after the answer."""

    __tablename__ = "plan_participations"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    status: Mapped[str] = mapped_column(String(10), default=ParticipationStatus.PENDING)
    reason: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    plan: Mapped[Plan] = relationship()
    department: Mapped[Department] = relationship()

    __table_args__ = (
        UniqueConstraint("plan_id", "department_id"),
        CheckConstraint(check_in("status", ParticipationStatus), name="status"),
        Index("ix_plan_participations_department_id", "department_id"),
    )
