"""audit chain: the checkpoints of successful verifications

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 08:45:00

`audit_verifications`: each verification that found the chain intact records the last entry it
verified and that entry's hash; `shuangsuiji audit verify` then re-computes only the entries
after the latest one (`--full` re-computes everything). Append-only, like the trail.
"""

import sqlalchemy as sa
from alembic import op

import shuangsuiji.db.base
from shuangsuiji.db import immutable

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLE = "audit_verifications"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("verified_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verifications")),
    )
    for statement in immutable.create_statements(op.get_bind().dialect.name, TABLE):
        op.execute(statement)


def downgrade() -> None:
    for statement in immutable.drop_statements(op.get_bind().dialect.name, TABLE):
        op.execute(statement)
    op.drop_table(TABLE)
