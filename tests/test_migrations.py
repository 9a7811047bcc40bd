"""Migrations: one head; upgrade → downgrade → upgrade; the models match the migrations."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import Base


def test_single_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_upgrade_downgrade_upgrade(scratch_url):
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = create_engine(scratch_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    command.upgrade(config, "head")


# SQLite has no bigrams(): the entity name index exists on PostgreSQL only (ddl_if).
@pytest.mark.filterwarnings("ignore:autogenerate skipping .*'ix_entities_name_bigrams'")
def test_models_match_migrations(scratch_url):
    command.upgrade(alembic_config(scratch_url), "head")
    engine = create_engine(scratch_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []
