"""workday overrides

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 11:02:37

The administrator's corrections to the working-day calendar: one row per date, a working day
(上班, e.g. a 调休 Saturday) or a rest day (放假), winning over chinese-calendar and
holidays.China.
"""

import sqlalchemy as sa
from alembic import op

import shuangsuiji.db.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workday_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_workday_overrides_created_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workday_overrides")),
        sa.UniqueConstraint("date", name=op.f("uq_workday_overrides_date")),
    )


def downgrade() -> None:
    op.drop_table("workday_overrides")
