"""recurring and joint plans

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 12:30:00

Recurring plans (monthly, quarterly, yearly batches drawn by the scheduler process): the plan's
recurrence, year and server-secret hash chain; the new status `active`; `plan_batches`, one
row per attempted period; the batch key on commitments and draws, with the unique index that
admits one first draw per plan and batch (a redraw names the draw it supersedes); and
`plan_departments`, the participating departments of a joint plan; `batch_values`, the
published values typed in for a batch before it falls due.

plan_commitments and draws are append-only (triggers): their new columns are added with
ADD COLUMN, never by re-creating the table, which would drop the triggers on SQLite.
"""

import sqlalchemy as sa
from alembic import op

import shuangsuiji.db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('draft', 'committed', 'drawn', 'closed')"
NEW_STATUSES = "status IN ('draft', 'committed', 'drawn', 'active', 'closed')"
FIRST_DRAW = "batch_key IS NOT NULL AND supersedes_id IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(
            sa.Column("recurrence", sa.String(length=10), nullable=False, server_default="once")
        )
        batch.add_column(sa.Column("plan_year", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("activated_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("chain_tip", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("chain_seed", sa.String(length=64), nullable=True))
        batch.drop_constraint(op.f("ck_plans_status"), type_="check")
        batch.create_check_constraint(op.f("ck_plans_status"), NEW_STATUSES)
        batch.create_check_constraint(
            op.f("ck_plans_recurrence"), "recurrence IN ('once', 'monthly', 'quarterly', 'yearly')"
        )
    op.add_column("plan_commitments", sa.Column("batch_key", sa.String(length=16), nullable=True))
    op.add_column("draws", sa.Column("batch_key", sa.String(length=16), nullable=True))
    op.create_index(
        "uq_draws_plan_batch_first",
        "draws",
        ["plan_id", "batch_key"],
        unique=True,
        sqlite_where=sa.text(FIRST_DRAW),
        postgresql_where=sa.text(FIRST_DRAW),
    )
    op.create_table(
        "plan_departments",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_plan_departments_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_plan_departments_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plan_id", "department_id", name=op.f("pk_plan_departments")),
    )
    op.create_index(
        "ix_plan_departments_department_id", "plan_departments", ["department_id"], unique=False
    )
    op.create_table(
        "plan_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("due_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "last_attempt_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("commitment_id", sa.Integer(), nullable=True),
        sa.Column("draw_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('drawn', 'failed')", name=op.f("ck_plan_batches_status")),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["plan_commitments.id"],
            name=op.f("fk_plan_batches_commitment_id_plan_commitments"),
        ),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["draws.id"], name=op.f("fk_plan_batches_draw_id_draws")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_batches_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_batches")),
        sa.UniqueConstraint("plan_id", "key", name=op.f("uq_plan_batches_plan_id_key")),
    )

    op.create_table(
        "batch_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("batch_key", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("entered_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["users.id"], name=op.f("fk_batch_values_entered_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_batch_values_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_values")),
        sa.UniqueConstraint(
            "plan_id", "batch_key", "label", name=op.f("uq_batch_values_plan_id_batch_key_label")
        ),
    )


def downgrade() -> None:
    op.drop_table("batch_values")
    op.drop_table("plan_batches")
    op.drop_index("ix_plan_departments_department_id", table_name="plan_departments")
    op.drop_table("plan_departments")
    op.drop_index("uq_draws_plan_batch_first", table_name="draws")
    op.drop_column("draws", "batch_key")
    op.drop_column("plan_commitments", "batch_key")
    with op.batch_alter_table("plans") as batch:
        batch.drop_constraint(op.f("ck_plans_recurrence"), type_="check")
        batch.drop_constraint(op.f("ck_plans_status"), type_="check")
        batch.create_check_constraint(op.f("ck_plans_status"), OLD_STATUSES)
        batch.drop_column("chain_seed")
        batch.drop_column("chain_tip")
        batch.drop_column("activated_at")
        batch.drop_column("plan_year")
        batch.drop_column("recurrence")
