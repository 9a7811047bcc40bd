"""contacts for notices and reminders

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 12:50:00

An inspector's mobile number and e-mail address (assignment notices, results-entry reminders)
and a user's e-mail address (deadline reminders to administrators). Never public.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("inspectors", "stage_inspectors"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("mobile", sa.String(length=11), nullable=True))
            batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
    for table in ("stage_inspectors", "inspectors"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("email")
            batch.drop_column("mobile")
