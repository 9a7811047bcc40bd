"""registries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 01:20:18.488576
"""

import sqlalchemy as sa
from alembic import op

import shuangsuiji.db.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "stage_conflicts",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("declared_on", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("cert_no", sa.String(length=64), nullable=True),
        sa.Column("uscc", sa.String(length=18), nullable=True),
    )
    with op.batch_alter_table("stage_conflicts", schema=None) as batch_op:
        batch_op.create_index("ix_stage_conflicts_import_id", ["import_id"], unique=False)

    op.create_table(
        "stage_entities",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("entity_type", sa.String(length=50), nullable=True),
        sa.Column("industry_code", sa.String(length=5), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("registration_authority", sa.String(length=100), nullable=True),
        sa.Column("supervising_unit", sa.String(length=100), nullable=True),
        sa.Column("grid", sa.String(length=100), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=4), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("tags", sa.String(length=300), nullable=True),
        sa.Column("abnormal_listed", sa.Boolean(), nullable=True),
        sa.Column("risk_class", sa.String(length=1), nullable=True),
        sa.Column("risk_class_month", sa.String(length=7), nullable=True),
    )
    with op.batch_alter_table("stage_entities", schema=None) as batch_op:
        batch_op.create_index("ix_stage_entities_import_id", ["import_id"], unique=False)

    op.create_table(
        "stage_inspectors",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("cert_no", sa.String(length=64), nullable=True),
        sa.Column("cert_issuer", sa.String(length=100), nullable=True),
        sa.Column("cert_valid_until", sa.Date(), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("grid", sa.String(length=100), nullable=True),
        sa.Column("qualifications", sa.String(length=300), nullable=True),
        sa.Column("specialties", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=True),
        sa.Column("is_expert", sa.Boolean(), nullable=True),
        sa.Column("id_number", sa.String(length=18), nullable=True),
    )
    with op.batch_alter_table("stage_inspectors", schema=None) as batch_op:
        batch_op.create_index("ix_stage_inspectors_import_id", ["import_id"], unique=False)

    op.create_table(
        "stage_matters",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("sub_item", sa.String(length=200), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("target_scope", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("ratio", sa.String(length=100), nullable=True),
        sa.Column("frequency", sa.String(length=100), nullable=True),
        sa.Column("methods", sa.String(length=200), nullable=True),
        sa.Column("inspector_requirements", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=4), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
    )
    with op.batch_alter_table("stage_matters", schema=None) as batch_op:
        batch_op.create_index("ix_stage_matters_import_id", ["import_id"], unique=False)

    op.create_table(
        "entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=True),
        sa.Column("industry_code", sa.String(length=5), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("registration_authority", sa.String(length=100), nullable=True),
        sa.Column("supervising_unit", sa.String(length=100), nullable=True),
        sa.Column("grid", sa.String(length=100), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("tags", sa.String(length=300), nullable=True),
        sa.Column("abnormal_listed", sa.Boolean(), nullable=False),
        sa.Column("risk_class", sa.String(length=1), nullable=True),
        sa.Column("risk_class_month", sa.String(length=7), nullable=True),
        sa.Column("last_checked_on", sa.Date(), nullable=True),
        sa.Column("check_count", sa.Integer(), nullable=False),
        sa.Column("created_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "risk_class IS NULL OR risk_class IN ('A', 'B', 'C', 'D')",
            name=op.f("ck_entities_risk"),
        ),
        sa.CheckConstraint(
            "status IN ('存续', '注销', '吊销', '撤销', '迁出')", name=op.f("ck_entities_status")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_entities_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entities")),
        sa.UniqueConstraint("department_id", "uscc", name=op.f("uq_entities_department_id_uscc")),
    )
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_entities_department_id_industry_code",
            ["department_id", "industry_code"],
            unique=False,
        )
        batch_op.create_index(
            "ix_entities_department_id_region_code", ["department_id", "region_code"], unique=False
        )
        batch_op.create_index(
            "ix_entities_department_id_risk_class", ["department_id", "risk_class"], unique=False
        )
        batch_op.create_index(
            "ix_entities_name_trgm",
            ["name"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        )

    op.create_table(
        "inspectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("cert_no", sa.String(length=64), nullable=False),
        sa.Column("cert_issuer", sa.String(length=100), nullable=True),
        sa.Column("cert_valid_until", sa.Date(), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("grid", sa.String(length=100), nullable=True),
        sa.Column("qualifications", sa.String(length=300), nullable=True),
        sa.Column("specialties", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("is_expert", sa.Boolean(), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("created_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'leave', 'left')", name=op.f("ck_inspectors_status")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_inspectors_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspectors")),
        sa.UniqueConstraint("cert_no", name=op.f("uq_inspectors_cert_no")),
    )
    with op.batch_alter_table("inspectors", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inspectors_department_id_name", ["department_id", "name"], unique=False
        )

    op.create_table(
        "matters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sub_item", sa.String(length=200), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("target_scope", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("ratio", sa.String(length=100), nullable=True),
        sa.Column("frequency", sa.String(length=100), nullable=True),
        sa.Column("methods", sa.String(length=200), nullable=True),
        sa.Column("inspector_requirements", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=4), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("category IN ('一般', '重点')", name=op.f("ck_matters_category")),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_matters_department_id_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matters")),
        sa.UniqueConstraint("department_id", "code", name=op.f("uq_matters_department_id_code")),
    )
    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("declared_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("created_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_conflicts_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_conflicts_entity_id_entities")
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"], ["inspectors.id"], name=op.f("fk_conflicts_inspector_id_inspectors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflicts")),
        sa.UniqueConstraint(
            "inspector_id", "entity_id", name=op.f("uq_conflicts_inspector_id_entity_id")
        ),
    )
    with op.batch_alter_table("conflicts", schema=None) as batch_op:
        batch_op.create_index("ix_conflicts_department_id", ["department_id"], unique=False)
        batch_op.create_index("ix_conflicts_entity_id", ["entity_id"], unique=False)

    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("stored_path", sa.String(length=500), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=True),
        sa.Column("sheet", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("detected_format", sa.String(length=8), nullable=True),
        sa.Column("detected_encoding", sa.String(length=20), nullable=True),
        sa.Column("mapping", sa.Text(), nullable=True),
        sa.Column("unknown_headers", sa.Text(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_valid", sa.Integer(), nullable=False),
        sa.Column("blank_rows", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("validated_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("applied_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('entities', 'inspectors', 'matters', 'conflicts')",
            name=op.f("ck_import_jobs_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('validating', 'ready', 'applying', 'done', 'failed', 'cancelled')",
            name=op.f("ck_import_jobs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_import_jobs_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_import_jobs_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_import_jobs_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_import_jobs_department_id", ["department_id"], unique=False)

    op.create_table(
        "import_rejects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["import_jobs.id"], name=op.f("fk_import_rejects_import_id_import_jobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_rejects")),
    )
    with op.batch_alter_table("import_rejects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_import_rejects_import_id_row_no", ["import_id", "row_no"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("import_rejects", schema=None) as batch_op:
        batch_op.drop_index("ix_import_rejects_import_id_row_no")

    op.drop_table("import_rejects")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_import_jobs_department_id")

    op.drop_table("import_jobs")
    with op.batch_alter_table("conflicts", schema=None) as batch_op:
        batch_op.drop_index("ix_conflicts_entity_id")
        batch_op.drop_index("ix_conflicts_department_id")

    op.drop_table("conflicts")
    op.drop_table("matters")
    with op.batch_alter_table("inspectors", schema=None) as batch_op:
        batch_op.drop_index("ix_inspectors_department_id_name")

    op.drop_table("inspectors")
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.drop_index("ix_entities_name_trgm")
        batch_op.drop_index("ix_entities_department_id_risk_class")
        batch_op.drop_index("ix_entities_department_id_region_code")
        batch_op.drop_index("ix_entities_department_id_industry_code")

    op.drop_table("entities")
    with op.batch_alter_table("stage_matters", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_matters_import_id")

    op.drop_table("stage_matters")
    with op.batch_alter_table("stage_inspectors", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_inspectors_import_id")

    op.drop_table("stage_inspectors")
    with op.batch_alter_table("stage_entities", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_entities_import_id")

    op.drop_table("stage_entities")
    with op.batch_alter_table("stage_conflicts", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_conflicts_import_id")

    op.drop_table("stage_conflicts")
