"""credit and outbox

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 12:08:48.589023

The outbox (webhooks, e-mail, SMS waiting to be sent), the credit record (append-only credit
events, the 经营异常名录 listing workflow) and the monthly risk-class import (a new import
kind and its staging table).
"""

import sqlalchemy as sa
from alembic import op

import shuangsuiji.db.base
from shuangsuiji.db import immutable

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('entities', 'inspectors', 'matters', 'conflicts')"
KINDS_AFTER = "kind IN ('entities', 'inspectors', 'matters', 'conflicts', 'risk_classes')"


def upgrade() -> None:
    op.create_table(
        "stage_risk_classes",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("risk_class", sa.String(length=1), nullable=True),
        sa.Column("risk_class_month", sa.String(length=7), nullable=True),
    )
    with op.batch_alter_table("stage_risk_classes", schema=None) as batch_op:
        batch_op.create_index("ix_stage_risk_classes_import_id", ["import_id"], unique=False)

    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("recipient", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dedup_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('webhook', 'email', 'sms')", name=op.f("ck_outbox_messages_channel")
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed')", name=op.f("ck_outbox_messages_status")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_outbox_messages_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outbox_messages_dedup_key")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_messages_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "abnormal_listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("result_code", sa.String(length=4), nullable=False),
        sa.Column("ground", sa.String(length=200), nullable=False),
        sa.Column("verified_on", sa.Date(), nullable=False),
        sa.Column("order_deadline", sa.Date(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("listed_on", sa.Date(), nullable=True),
        sa.Column("removal_requested_on", sa.Date(), nullable=True),
        sa.Column("removal_reason", sa.Text(), nullable=True),
        sa.Column("removal_deadline", sa.Date(), nullable=True),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.Column("created_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('candidate', 'listed', 'dismissed', 'removal_requested', 'removed')",
            name=op.f("ck_abnormal_listings_status"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_abnormal_listings_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_abnormal_listings_entity_id_entities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abnormal_listings")),
        sa.UniqueConstraint("source", "rule", name=op.f("uq_abnormal_listings_source_rule")),
    )
    with op.batch_alter_table("abnormal_listings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_abnormal_listings_department_id_status", ["department_id", "status"], unique=False
        )
        batch_op.create_index("ix_abnormal_listings_entity_id", ["entity_id"], unique=False)

    op.create_table(
        "credit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("result_code", sa.String(length=4), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_credit_events_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_credit_events_entity_id_entities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_events")),
        sa.UniqueConstraint("source", "rule", name=op.f("uq_credit_events_source_rule")),
    )
    with op.batch_alter_table("credit_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_events_department_id_id", ["department_id", "id"], unique=False
        )
        batch_op.create_index("ix_credit_events_entity_id", ["entity_id"], unique=False)

    for statement in immutable.create_statements(op.get_bind().dialect.name, "credit_events"):
        op.execute(statement)
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_import_jobs_kind"), type_="check")
        batch_op.create_check_constraint("kind", KINDS_AFTER)


def downgrade() -> None:
    op.execute(
        "DELETE FROM import_rejects WHERE import_id IN "
        "(SELECT id FROM import_jobs WHERE kind = 'risk_classes')"
    )
    op.execute("DELETE FROM import_jobs WHERE kind = 'risk_classes'")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_import_jobs_kind"), type_="check")
        batch_op.create_check_constraint("kind", KINDS_BEFORE)
    for statement in immutable.drop_statements(op.get_bind().dialect.name, "credit_events"):
        op.execute(statement)
    with op.batch_alter_table("credit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_events_entity_id")
        batch_op.drop_index("ix_credit_events_department_id_id")

    op.drop_table("credit_events")
    with op.batch_alter_table("abnormal_listings", schema=None) as batch_op:
        batch_op.drop_index("ix_abnormal_listings_entity_id")
        batch_op.drop_index("ix_abnormal_listings_department_id_status")

    op.drop_table("abnormal_listings")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_status_next_attempt_at")

    op.drop_table("outbox_messages")
    with op.batch_alter_table("stage_risk_classes", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_risk_classes_import_id")

    op.drop_table("stage_risk_classes")
