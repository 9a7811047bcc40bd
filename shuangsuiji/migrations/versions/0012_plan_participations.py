"""joint plans: the participating departments' consent

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 07:20:00

`plan_participations`: a department named in another department's joint plan (a 配合部门)
accepts (确认参加) or declines with a reason; the plan is committed, or a recurring plan
activated and its batches committed, only when every participant has accepted.

Joint plans that exist when this runs get a pending request for each participant: nobody
consented to them, so their next commitment (a redraw, the next batch of an active recurring
plan) waits until the participants accept. What was already committed or drawn stays.
"""

import sqlalchemy as sa
from alembic import op

import shuangsuiji.db.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_participations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'declined')",
            name=op.f("ck_plan_participations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_plan_participations_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_plan_participations_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_plan_participations_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_participations")),
        sa.UniqueConstraint(
            "plan_id", "department_id", name=op.f("uq_plan_participations_plan_id_department_id")
        ),
    )
    op.create_index(
        "ix_plan_participations_department_id", "plan_participations", ["department_id"]
    )
    op.execute(
        "INSERT INTO plan_participations (plan_id, department_id, status, requested_at) "
        "SELECT plan_id, department_id, 'pending', CURRENT_TIMESTAMP FROM plan_departments"
    )


def downgrade() -> None:
    op.drop_index("ix_plan_participations_department_id", table_name="plan_participations")
    op.drop_table("plan_participations")
