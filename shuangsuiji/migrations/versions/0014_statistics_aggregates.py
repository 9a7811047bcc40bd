"""statistics: per department × month aggregates

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 11:50:00

`stat_months` (drawn, entered, published), `stat_strata` (per credit-risk class: population N,
published visits n, problems) and `stat_cells` (published visits by result code, check month,
region and industry) per department and Beijing month of the draw. The draws and the results
keep them up to date from now on; 统计分析 reads only them.

Existing deployments: the tables start empty. After `shuangsuiji db upgrade` run
`shuangsuiji statistics rebuild` once (it recomputes every month from the draws and the
records; idempotent, and a repair whenever in doubt). Until then 统计分析 shows no history.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _keys() -> list:
    return [
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
    ]


def _fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["department_id"], ["departments.id"], name=op.f(f"fk_{table}_department_id_departments")
    )


def upgrade() -> None:
    op.create_table(
        "stat_months",
        *_keys(),
        sa.Column("drawn", sa.Integer(), nullable=False),
        sa.Column("entered", sa.Integer(), nullable=False),
        sa.Column("published", sa.Integer(), nullable=False),
        _fk("stat_months"),
        sa.PrimaryKeyConstraint("department_id", "month", name=op.f("pk_stat_months")),
    )
    op.create_table(
        "stat_strata",
        *_keys(),
        sa.Column("stratum", sa.String(length=32), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        _fk("stat_strata"),
        sa.PrimaryKeyConstraint("department_id", "month", "stratum", name=op.f("pk_stat_strata")),
    )
    op.create_table(
        "stat_cells",
        *_keys(),
        sa.Column("dimension", sa.String(length=10), nullable=False),
        sa.Column("stratum", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        _fk("stat_cells"),
        sa.PrimaryKeyConstraint(
            "department_id", "month", "dimension", "stratum", "key", name=op.f("pk_stat_cells")
        ),
    )


def downgrade() -> None:
    op.drop_table("stat_cells")
    op.drop_table("stat_strata")
    op.drop_table("stat_months")
