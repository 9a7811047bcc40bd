"""history indexes: the audit trail's filtered pages and the public list's first year

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 12:30:00

Chosen from EXPLAIN on ten years of a city's history (scripts/bench_history.py): a department
administrator's 审计日志 sorted every entry of the department (some 20,000 a year) to show
the newest 50, and so did a filter by action, user or object; each index now ends with seq,
so a page reads its own entries. `min(committed_at)` of the public plan list read every
commitment.
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

AUDIT = "audit_entries"
AUDIT_INDEXES = {
    "ix_audit_entries_department_id_seq": ["department_id", "seq"],
    "ix_audit_entries_action_seq": ["action", "seq"],
    "ix_audit_entries_actor_name_seq": ["actor_name", "seq"],
    "ix_audit_entries_object_seq": ["object_type", "object_id", "seq"],
}


def upgrade() -> None:
    op.drop_index("ix_audit_entries_department_id", table_name=AUDIT)
    op.drop_index("ix_audit_entries_object", table_name=AUDIT)
    for name, columns in AUDIT_INDEXES.items():
        op.create_index(name, AUDIT, columns)
    op.create_index("ix_plan_commitments_committed_at", "plan_commitments", ["committed_at"])


def downgrade() -> None:
    op.drop_index("ix_plan_commitments_committed_at", table_name="plan_commitments")
    for name in AUDIT_INDEXES:
        op.drop_index(name, table_name=AUDIT)
    op.create_index("ix_audit_entries_object", AUDIT, ["object_type", "object_id"])
    op.create_index("ix_audit_entries_department_id", AUDIT, ["department_id"])
