"""imports: the rejected rows' cells and the file's header row

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 12:15:00

`import_rejects.cells`: the whole rejected row as read (a JSON list of the cells' text), on the
first reject of each row; `import_jobs.headers`: the file's header row (JSON). The rejected-rows
file carries them beside row number, column and reason, so the clerk fixes that file and imports
it again. Batches checked before this keep the old file (row, column, value, reason).
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_rejects") as batch:
        batch.add_column(sa.Column("cells", sa.Text(), nullable=True))
    with op.batch_alter_table("import_jobs") as batch:
        batch.add_column(sa.Column("headers", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch:
        batch.drop_column("headers")
    with op.batch_alter_table("import_rejects") as batch:
        batch.drop_column("cells")
