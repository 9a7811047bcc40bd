"""draw storage: a delete guard instead of per-row foreign keys; lz4 for the large values

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 13:20:00

A draw writes its drawn entities and team slots by the ten thousand (46,000 + 92,000 rows at
1M entities). On PostgreSQL the foreign keys draw_entities.entity_id → entities and
draw_assignments.inspector_id → inspectors cost a lookup and a row lock on the referenced row
per inserted row: 0.76 s of a draw's ~6 s. The ids are resolved from the registry in the same
transaction, so the insert side holds by construction; what the keys also guarded, that a
drawn entity or inspector cannot be deleted, is now a trigger on entities and inspectors that
refuses to delete a row any draw names (one indexed lookup per delete, which is rare).

The commitment's files (tens of megabytes at 1M entities) and the draw's manifest are stored
with lz4 TOAST compression on PostgreSQL servers built with it: the default pglz spent about a
second per commitment compressing (or failing to compress) them; lz4 about a fifth of that.
Values already stored keep their compression.
"""

from alembic import op

from shuangsuiji.db import immutable

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# (referenced table, draw table, its column, foreign key name)
GUARDED = (
    ("entities", "draw_entities", "entity_id", "fk_draw_entities_entity_id_entities"),
    (
        "inspectors",
        "draw_assignments",
        "inspector_id",
        "fk_draw_assignments_inspector_id_inspectors",
    ),
)


def _guard_statements(dialect: str, table: str, draw_table: str, column: str) -> list[str]:
    # The names are the constants of GUARDED, never input: S608 does not apply.
    message = f"{table} row is named by a draw ({draw_table}): DELETE refused"
    if dialect == "postgresql":
        return [
            f"""
            CREATE OR REPLACE FUNCTION {table}_drawn_guard() RETURNS trigger AS $$
            BEGIN
                IF EXISTS (SELECT 1 FROM {draw_table} WHERE {column} = OLD.id) THEN
                    RAISE EXCEPTION '{message}' USING ERRCODE = 'foreign_key_violation';
                END IF;
                RETURN OLD;
            END;
            $$ LANGUAGE plpgsql
            """,  # noqa: S608
            f"""
            CREATE TRIGGER {table}_drawn_guard BEFORE DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {table}_drawn_guard()
            """,
        ]
    return [
        f"""
        CREATE TRIGGER {table}_drawn_guard BEFORE DELETE ON {table}
        WHEN EXISTS (SELECT 1 FROM {draw_table} WHERE {column} = OLD.id)
        BEGIN SELECT RAISE(ABORT, '{message}'); END
        """  # noqa: S608
    ]


def _drop_guard_statements(dialect: str, table: str) -> list[str]:
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_drawn_guard ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_drawn_guard()",
        ]
    return [f"DROP TRIGGER IF EXISTS {table}_drawn_guard"]


# (table, column) stored with lz4 where the server has it
LARGE_VALUES = (
    ("plan_commitments", "plan_json"),
    ("plan_commitments", "entities_tsv"),
    ("plan_commitments", "inspectors_tsv"),
    ("plan_commitments", "exclusions_tsv"),
    ("draws", "manifest"),
)


def _set_compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    methods = bind.exec_driver_sql(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
    ).scalar()
    if method not in (methods or []):
        return  # a server built without lz4 keeps pglz
    for table, column in LARGE_VALUES:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")


def _rebuild_sqlite_triggers(dialect: str, draw_table: str) -> None:
    # SQLite's batch mode copies the table to change a constraint, which drops its triggers.
    if dialect == "sqlite":
        for statement in immutable.create_statements(dialect, draw_table):
            op.execute(statement)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, draw_table, column, fk in GUARDED:
        if dialect == "sqlite":
            for statement in immutable.drop_statements(dialect, draw_table):
                op.execute(statement)
        with op.batch_alter_table(draw_table) as batch:
            batch.drop_constraint(fk, type_="foreignkey")
        _rebuild_sqlite_triggers(dialect, draw_table)
        for statement in _guard_statements(dialect, table, draw_table, column):
            op.execute(statement)
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")
    dialect = op.get_bind().dialect.name
    for table, draw_table, column, fk in GUARDED:
        for statement in _drop_guard_statements(dialect, table):
            op.execute(statement)
        if dialect == "sqlite":
            for statement in immutable.drop_statements(dialect, draw_table):
                op.execute(statement)
        with op.batch_alter_table(draw_table) as batch:
            batch.create_foreign_key(fk, table, [column], ["id"])
        _rebuild_sqlite_triggers(dialect, draw_table)
