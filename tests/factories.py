"""factory_boy factories bound to the test's session."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from shuangsuiji.db import Department, Entity, User
from shuangsuiji.domain.uscc import make as make_uscc
from shuangsuiji.services.accounts.passwords import hash_password

PASSWORD = "Test-Passw0rd!"  # noqa: S105
_PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: argon2id is slow on purpose

_session = None


def bind(session) -> None:
    global _session
    _session = session


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: _session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class DepartmentFactory(Base):
    class Meta:
        model = Department

    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Sequence(lambda n: f"测试市场监督管理局{n}")
    short_name = ""
    kind = "市场监管"
    level = "city"
    region_code = factory.Sequence(lambda n: f"13{(n % 90) + 10:02d}00")
    parent = None


class UserFactory(Base):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    role = "inspector"
    department = factory.SubFactory(DepartmentFactory)
    password_hash = _PASSWORD_HASH
    must_change_password = False
    active = True


class EntityFactory(Base):
    class Meta:
        model = Entity

    department = factory.SubFactory(DepartmentFactory)
    uscc = factory.Sequence(lambda n: make_uscc(f"91131024{n:09d}"))
    name = factory.Sequence(lambda n: f"测试商贸有限公司{n}")
