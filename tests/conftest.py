"""Test fixtures: one migrated database per run, each test inside a rolled-back transaction.

SQLite (a temporary file) by default; PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import create_engine, make_url, text

from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import Database, make_engine
from shuangsuiji.db.states import Role

from . import draw_world, factories

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
PASSWORD = factories.PASSWORD


def _reset_postgres(engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url):
    from alembic import command

    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        _reset_postgres(engine)
    command.upgrade(alembic_config(database_url), "head")
    yield engine
    engine.dispose()


@pytest.fixture
def scratch_url(tmp_path):
    """An empty database: a SQLite file, or a new database on the test PostgreSQL server."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    url = make_url(TEST_DATABASE_URL)
    name = f"{url.database}_scratch"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def connection(engine):
    connection = engine.connect()
    outer = connection.begin()
    yield connection
    outer.rollback()
    connection.close()


@pytest.fixture
def db(connection) -> Database:
    return Database.bound_to(connection)


@pytest.fixture
def session(db):
    session = db.session()
    factories.bind(session)
    yield session
    session.close()


@pytest.fixture
def app(db, session, tmp_path):
    from shuangsuiji.app import create_app

    app = create_app(
        {
            "ENV": "testing",
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "EXPORT_DIR": str(tmp_path / "exports"),
        },
        database=db,
    )
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, path: str = "/console/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_token(client)
    return client.post(
        "/console/login", data={"username": username, "password": password, "csrf_token": token}
    )


@pytest.fixture
def world(session):
    """Two departments (A under a city, B elsewhere) with an admin and an inspector each,
    a system administrator and an auditor."""
    province = factories.DepartmentFactory(level="province", code="PROV", region_code="130000")
    dept_a = factories.DepartmentFactory(code="DEPT-A", parent=province, level="city")
    dept_b = factories.DepartmentFactory(code="DEPT-B", parent=province, level="city")
    return {
        "province": province,
        "a": dept_a,
        "b": dept_b,
        "sysadmin": factories.UserFactory(username="root", role=Role.SYSADMIN, department=None),
        "auditor": factories.UserFactory(username="audit", role=Role.AUDITOR, department=None),
        "admin_a": factories.UserFactory(
            username="admin_a", role=Role.DEPT_ADMIN, department=dept_a
        ),
        "admin_b": factories.UserFactory(
            username="admin_b", role=Role.DEPT_ADMIN, department=dept_b
        ),
        "insp_a": factories.UserFactory(username="insp_a", role=Role.INSPECTOR, department=dept_a),
        "insp_b": factories.UserFactory(username="insp_b", role=Role.INSPECTOR, department=dept_b),
    }


@pytest.fixture
def registry(session, world):
    """Department A's registry to plan and draw from (tests/draw_world.py): 40 entities with
    classes A–D over three counties, 8 active inspectors, one matter; flushed, not committed."""
    return draw_world.populate(session, world["a"])
