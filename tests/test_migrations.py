"""Migrations: one head; upgrade → downgrade → upgrade; the models match the migrations."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select

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


def test_0012_asks_the_participants_of_existing_joint_plans(scratch_url):
    """Nobody consented to a joint plan made before 0012: each participant gets a pending
    request, so the plan's next commitment waits for the answer."""
    from shuangsuiji.db import Database, Department, Plan, PlanParticipation

    from . import factories

    config = alembic_config(scratch_url)
    command.upgrade(config, "0011")
    engine = create_engine(scratch_url)
    db = Database(engine)
    with db.transaction() as session:
        factories.bind(session)
        lead = factories.DepartmentFactory(code="DEPT-A")
        part = factories.DepartmentFactory(code="DEPT-B")
        session.add(
            Plan(
                department=lead,
                code="OLD-JOINT",
                title="迁移前的联合抽查",
                strata="{}",
                slots='["DEPT-A", "DEPT-B"]',
                randomness="[]",
                status="drawn",
                participants=[part],
            )
        )
        session.flush()
        ids = (lead.id, part.id)
    factories.bind(None)
    command.upgrade(config, "head")
    with db.transaction(write=False) as session:
        rows = session.scalars(select(PlanParticipation)).all()
        assert [(r.department_id, r.status) for r in rows] == [(ids[1], "pending")]
        assert session.get(Department, ids[0]).code == "DEPT-A"
    engine.dispose()
