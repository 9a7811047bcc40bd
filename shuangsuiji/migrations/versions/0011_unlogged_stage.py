"""import staging tables unlogged

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 15:10:00

The stage_* tables hold an import's checked rows between validation and the clerk's
confirmation; PostgreSQL need not write them to its WAL. Writing and then deleting a million
staged rows costs about half as much unlogged. After a server crash an unlogged table comes
back empty: an import that was waiting for confirmation then fails with a request to upload
the file again (services.imports checks the staged count before applying).
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STAGES = (
    "stage_entities",
    "stage_inspectors",
    "stage_matters",
    "stage_conflicts",
    "stage_risk_classes",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in STAGES:
            op.execute(f"ALTER TABLE {table} SET UNLOGGED")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in STAGES:
            op.execute(f"ALTER TABLE {table} SET LOGGED")
