"""statistics: the cells of a department's year

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 12:40:00

`stat_cell_years`: the `stat_cells` rows summed over each year's months, kept with them, so that
a year's report (a province's hundred departments) reads a twelfth of the rows. Filled here from
the month rows (empty until `shuangsuiji statistics rebuild` has run once, see 0014).
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stat_cell_years",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("dimension", sa.String(length=10), nullable=False),
        sa.Column("stratum", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_stat_cell_years_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint(
            "department_id", "year", "dimension", "stratum", "key", name=op.f("pk_stat_cell_years")
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "INSERT INTO stat_cell_years"
            " (department_id, year, dimension, stratum, key, visits, problems)"
            " SELECT department_id, CAST(EXTRACT(YEAR FROM month) AS INTEGER) AS y, dimension,"
            " stratum, key, SUM(visits), SUM(problems) FROM stat_cells"
            " GROUP BY department_id, y, dimension, stratum, key"
        )
    else:
        op.execute(
            "INSERT INTO stat_cell_years"
            " (department_id, year, dimension, stratum, key, visits, problems)"
            " SELECT department_id, CAST(strftime('%Y', month) AS INTEGER) AS y, dimension,"
            " stratum, key, SUM(visits), SUM(problems) FROM stat_cells"
            " GROUP BY department_id, y, dimension, stratum, key"
        )


def downgrade() -> None:
    op.drop_table("stat_cell_years")
