"""Departments, users, console sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .states import CROSS_DEPARTMENT_ROLES, Role, TokenScope, check_in


class DepartmentKind(enum.StrEnum):
    """部门类别: the kind of government department."""

    SAMR = "市场监管"
    TAX = "税务"
    ENV = "生态环境"
    HEALTH = "卫生健康"
    EMERGENCY = "应急管理"
    CULTURE = "文化旅游"
    TRANSPORT = "交通运输"
    AGRICULTURE = "农业农村"
    HOUSING = "住房城乡建设"
    OTHER = "其他"


class DepartmentLevel(enum.StrEnum):
    """行政层级: province, city or county."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


LEVEL_LABELS = {"province": "省级", "city": "市级", "county": "县级"}


class Department(Base):
    """部门: a government department that owns its own data (province → city → county)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(30), default="")
    kind: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(10))
    region_code: Mapped[str] = mapped_column(String(6))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    parent: Mapped[Department | None] = relationship(remote_side=[id])

    __table_args__ = (
        CheckConstraint(check_in("level", DepartmentLevel), name="level"),
        Index("ix_departments_parent_id", "parent_id"),
    )


class User(Base):
    """用户: a person who signs in to the console or calls the API."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    # Where deadline reminders for this user go (optional; never public).
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    department: Mapped[Department | None] = relationship()

    __table_args__ = (
        CheckConstraint(check_in("role", Role), name="role"),
        CheckConstraint(
            f"{check_in('role', CROSS_DEPARTMENT_ROLES)} OR department_id IS NOT NULL",
            name="department",
        ),
        Index("ix_users_department_id", "department_id"),
    )


class UserSession(Base):
    """登录会话: a console session held server-side so it can be ended at once."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship()

    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"),)


class ApiToken(Base):
    """API 令牌: a bearer token that acts for one user, stored only as its hash."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint(check_in("scope", TokenScope), name="scope"),
        Index("ix_api_tokens_user_id", "user_id"),
    )
