"""checklists: each matter's 检查表, versioned

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 13:01:09

`matter_checklists` (one row per version of a matter's checklist) and `checklist_items` (its
lines: 检查内容, 检查方法, 检查依据, 判定标准, required, the result codes of a 不符合). Both are
append-only: a change is a new version, the old ones stay as they were.
"""

import sqlalchemy as sa
from alembic import op

import shuangsuiji.db.base
from shuangsuiji.db import immutable

APPEND_ONLY = ("matter_checklists", "checklist_items")


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "matter_checklists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_matter_checklists_version")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_matter_checklists_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_matter_checklists_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["matter_id"], ["matters.id"], name=op.f("fk_matter_checklists_matter_id_matters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matter_checklists")),
        sa.UniqueConstraint(
            "matter_id", "version", name=op.f("uq_matter_checklists_matter_id_version")
        ),
    )
    op.create_table(
        "checklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checklist_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("content", sa.String(length=500), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.String(length=500), nullable=False),
        sa.Column("criterion", sa.Text(), nullable=True),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("codes", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "method IN ('documents', 'on_site', 'inquiry', 'online', 'sampling')",
            name=op.f("ck_checklist_items_method"),
        ),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["matter_checklists.id"],
            name=op.f("fk_checklist_items_checklist_id_matter_checklists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_items")),
        sa.UniqueConstraint(
            "checklist_id", "position", name=op.f("uq_checklist_items_checklist_id_position")
        ),
    )
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for statement in immutable.create_statements(dialect, table):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for statement in immutable.drop_statements(dialect, table):
            op.execute(statement)
    op.drop_table("checklist_items")
    op.drop_table("matter_checklists")
