"""entity name search by bigrams

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:40:00

Replaces the pg_trgm index on entities.name by a GIN index on the name's 2-character
substrings (PostgreSQL only; SQLite searches with a plain LIKE). Trigrams cannot serve a
2-character term such as 恒达, the common case for Chinese names; bigrams serve every term of
two characters or more, and one GIN index costs an import less than two.

The index is created with CREATE INDEX (not CONCURRENTLY): on a large registry this
migration holds a lock on `entities` for the index build (about 10 s per million rows).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# IMMUTABLE, as an index expression must be; plpgsql builds the array in place, about three
# times faster than a SQL function over generate_series (it runs for every row of an import).
BIGRAMS = """
CREATE FUNCTION bigrams(name text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    grams text[] := '{}';
BEGIN
    FOR i IN 1 .. length(name) - 1 LOOP
        grams[i] := substr(name, i, 2);
    END LOOP;
    RETURN grams;
END
$$
"""
COMMENT = (
    "COMMENT ON FUNCTION bigrams(text) IS "
    "'The 2-character substrings of a name, in order (entity name search, migration 0004)'"
)


def upgrade() -> None:
    # On SQLite 0002 made it a plain index on name, of no use to LIKE '%…%'.
    op.drop_index("ix_entities_name_trgm", table_name="entities")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(BIGRAMS)
    op.execute(COMMENT)
    # The "C" collation: the keys compare bytewise, which builds the index faster.
    op.create_index(
        "ix_entities_name_bigrams",
        "entities",
        [sa.text('bigrams(name COLLATE "C")')],
        postgresql_using="gin",
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_entities_name_bigrams", table_name="entities")
        op.execute("DROP FUNCTION bigrams(text)")
    op.create_index(
        "ix_entities_name_trgm",
        "entities",
        ["name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
