"""plans and draws

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 09:19:43.282841
"""

import sqlalchemy as sa
from alembic import op

import shuangsuiji.db.base
from shuangsuiji.db import immutable

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Commitments, draws and their rows are never updated or deleted (SRDP-1 §1).
APPEND_ONLY = (
    "plan_commitments",
    "draws",
    "draw_entities",
    "draw_assignments",
    "draw_replacements",
)


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("strata", sa.Text(), nullable=False),
        sa.Column("rounding", sa.String(length=8), nullable=False),
        sa.Column("slots", sa.Text(), nullable=False),
        sa.Column("region_rule", sa.String(length=10), nullable=False),
        sa.Column("selection", sa.String(length=12), nullable=False),
        sa.Column("workload_cap", sa.Integer(), nullable=False),
        sa.Column("cooldown_months", sa.Integer(), nullable=False),
        sa.Column("annual_cap", sa.Integer(), nullable=True),
        sa.Column("exclude_open", sa.Boolean(), nullable=False),
        sa.Column("required_qualifications", sa.String(length=300), nullable=True),
        sa.Column("randomness", sa.Text(), nullable=False),
        sa.Column("publish_mode", sa.String(length=16), nullable=False),
        sa.Column("fieldwork_start", sa.Date(), nullable=True),
        sa.Column("fieldwork_end", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "publish_mode IN ('immediate', 'after_fieldwork')", name=op.f("ck_plans_publish_mode")
        ),
        sa.CheckConstraint(
            "region_rule IN ('none', 'different', 'same')", name=op.f("ck_plans_region_rule")
        ),
        sa.CheckConstraint(
            "rounding IN ('ceil', 'floor', 'half_up')", name=op.f("ck_plans_rounding")
        ),
        sa.CheckConstraint(
            "selection IN ('uniform', 'least_loaded')", name=op.f("ck_plans_selection")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'committed', 'drawn', 'closed')", name=op.f("ck_plans_status")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_plans_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_plans_department_id_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("code", name=op.f("uq_plans_code")),
    )
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.create_index("ix_plans_department_id", ["department_id"], unique=False)

    op.create_table(
        "plan_commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("srdp_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("plan_json", sa.LargeBinary(), nullable=False),
        sa.Column("entities_tsv", sa.LargeBinary(), nullable=False),
        sa.Column("inspectors_tsv", sa.LargeBinary(), nullable=False),
        sa.Column("exclusions_tsv", sa.LargeBinary(), nullable=False),
        sa.Column("sha256sums", sa.Text(), nullable=False),
        sa.Column("snapshot", sa.String(length=64), nullable=False),
        sa.Column("server_secret_sha256", sa.String(length=64), nullable=True),
        sa.Column("server_secret", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("committed_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("committed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["committed_by_id"],
            ["users.id"],
            name=op.f("fk_plan_commitments_committed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_commitments_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_commitments")),
        sa.UniqueConstraint("plan_id", "seq", name=op.f("uq_plan_commitments_plan_id_seq")),
        sa.UniqueConstraint("srdp_id", name=op.f("uq_plan_commitments_srdp_id")),
    )
    op.create_table(
        "plan_matters",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["matter_id"], ["matters.id"], name=op.f("fk_plan_matters_matter_id_matters")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_plan_matters_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plan_id", "matter_id", name=op.f("pk_plan_matters")),
    )
    op.create_table(
        "draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("randomness", sa.Text(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("sample_sha256", sa.String(length=64), nullable=False),
        sa.Column("assignment_sha256", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("created_at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["plan_commitments.id"],
            name=op.f("fk_draws_commitment_id_plan_commitments"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_draws_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_draws_plan_id_plans")),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["draws.id"], name=op.f("fk_draws_supersedes_id_draws")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draws")),
        sa.UniqueConstraint("commitment_id", name=op.f("uq_draws_commitment_id")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_draws_supersedes_id")),
    )
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.create_index("ix_draws_plan_id", ["plan_id"], unique=False)

    op.create_table(
        "draw_assignments",
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("phase", sa.Integer(), nullable=True),
        sa.Column("n_avail", sa.Integer(), nullable=True),
        sa.Column("u", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["inspectors.id"],
            name=op.f("fk_draw_assignments_inspector_id_inspectors"),
        ),
        sa.PrimaryKeyConstraint("draw_id", "position", "slot", name=op.f("pk_draw_assignments")),
    )
    with op.batch_alter_table("draw_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_draw_assignments_inspector_id", ["inspector_id"], unique=False)

    op.create_table(
        "draw_entities",
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("stratum", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_draw_entities_entity_id_entities")
        ),
        sa.PrimaryKeyConstraint("draw_id", "position", name=op.f("pk_draw_entities")),
    )
    with op.batch_alter_table("draw_entities", schema=None) as batch_op:
        batch_op.create_index("ix_draw_entities_entity_id", ["entity_id"], unique=False)
        batch_op.create_index("ix_draw_entities_uscc", ["uscc"], unique=False)

    op.create_table(
        "draw_replacements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("withdrawn_id", sa.Integer(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("n_avail", sa.Integer(), nullable=False),
        sa.Column("u", sa.BigInteger(), nullable=False),
        sa.Column("at", shuangsuiji.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_draw_replacements_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["draws.id"], name=op.f("fk_draw_replacements_draw_id_draws")
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["inspectors.id"],
            name=op.f("fk_draw_replacements_inspector_id_inspectors"),
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_id"],
            ["inspectors.id"],
            name=op.f("fk_draw_replacements_withdrawn_id_inspectors"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_replacements")),
        sa.UniqueConstraint("draw_id", "n", name=op.f("uq_draw_replacements_draw_id_n")),
    )
    with op.batch_alter_table("inspectors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_inspectors_user_id"), ["user_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_inspectors_user_id_users"), "users", ["user_id"], ["id"]
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
    with op.batch_alter_table("inspectors", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_inspectors_user_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_inspectors_user_id"), type_="unique")
        batch_op.drop_column("user_id")

    op.drop_table("draw_replacements")
    with op.batch_alter_table("draw_entities", schema=None) as batch_op:
        batch_op.drop_index("ix_draw_entities_entity_id")
        batch_op.drop_index("ix_draw_entities_uscc")

    op.drop_table("draw_entities")
    with op.batch_alter_table("draw_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_draw_assignments_inspector_id")

    op.drop_table("draw_assignments")
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.drop_index("ix_draws_plan_id")

    op.drop_table("draws")
    op.drop_table("plan_matters")
    op.drop_table("plan_commitments")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_index("ix_plans_department_id")

    op.drop_table("plans")
