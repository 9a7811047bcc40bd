"""inspection results

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 12:08:02

检查结果: one record per visit (a drawn entity of a draw) with its review status and
publication time, one result row per (record, matter), and the visit's attachments stored with
their SHA-256. `uscc` is repeated on the record so that the public lookup by USCC is one index
probe on this table.
"""

import sqlalchemy as sa
from alembic import op

import shuangsuiji.db.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inspection_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("published_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status != 'published' OR (published_at IS NOT NULL AND checked_on IS NOT NULL)",
            name=op.f("ck_inspection_records_published"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'returned', 'rejected', 'published')",
            name=op.f("ck_inspection_records_status"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_inspection_records_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["draws.id"], name=op.f("fk_inspection_records_draw_id_draws")
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["users.id"], name=op.f("fk_inspection_records_entered_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_inspection_records_entity_id_entities")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_inspection_records_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_inspection_records_reviewed_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_records")),
        sa.UniqueConstraint(
            "draw_id", "position", name=op.f("uq_inspection_records_draw_id_position")
        ),
    )
    op.create_index(
        "ix_inspection_records_department_id_status",
        "inspection_records",
        ["department_id", "status"],
    )
    op.create_index("ix_inspection_records_entity_id", "inspection_records", ["entity_id"])
    op.create_index("ix_inspection_records_uscc", "inspection_records", ["uscc"])

    op.create_table(
        "inspection_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["inspection_records.id"],
            name=op.f("fk_inspection_attachments_record_id_inspection_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_inspection_attachments_uploaded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_attachments")),
    )
    op.create_index("ix_inspection_attachments_record_id", "inspection_attachments", ["record_id"])

    op.create_table(
        "inspection_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("codes", sa.String(length=100), nullable=False),
        sa.Column("methods", sa.String(length=100), nullable=False),
        sa.Column("measures", sa.String(length=100), nullable=False),
        sa.Column("measure_other", sa.String(length=200), nullable=True),
        sa.Column("follow_up_closed", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["matter_id"], ["matters.id"], name=op.f("fk_inspection_results_matter_id_matters")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["inspection_records.id"],
            name=op.f("fk_inspection_results_record_id_inspection_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_results")),
        sa.UniqueConstraint(
            "record_id", "matter_id", name=op.f("uq_inspection_results_record_id_matter_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("inspection_results")
    op.drop_index("ix_inspection_attachments_record_id", table_name="inspection_attachments")

    op.drop_table("inspection_attachments")
    op.drop_index("ix_inspection_records_uscc", table_name="inspection_records")
    op.drop_index("ix_inspection_records_entity_id", table_name="inspection_records")
    op.drop_index("ix_inspection_records_department_id_status", table_name="inspection_records")

    op.drop_table("inspection_records")
