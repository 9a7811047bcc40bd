"""Plans in the services: who creates and commits, linked accounts, department codes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from shuangsuiji.db import AuditEntry
from shuangsuiji.errors import Conflict, Forbidden, Invalid, NotFound
from shuangsuiji.services.plans import plans

from ...draw_world import TODAY, plan_values
from .helpers import make_plan


def test_only_the_departments_admin_creates_and_commits(session, world, registry):
    with pytest.raises(Forbidden):
        plans.create(session, actor=world["insp_a"], department_id=world["a"].id, raw=plan_values())
    plan = make_plan(session, world, registry)
    with pytest.raises(NotFound):
        plans.commit(session, actor=world["admin_b"], plan_id=plan.id, today=TODAY)
    with pytest.raises(Forbidden):
        plans.commit(session, actor=world["auditor"], plan_id=plan.id, today=TODAY)


def test_inspector_account_link_rules(session, world, registry):
    from shuangsuiji.services.registry import records as registry_service

    inspector = registry["inspectors"][0]
    link = registry_service.link_account
    with pytest.raises(Invalid):  # another department's account
        link(session, actor=world["admin_a"], inspector_id=inspector.id, user_id=world["insp_b"].id)
    with pytest.raises(Invalid):  # not an inspector account
        link(
            session, actor=world["admin_a"], inspector_id=inspector.id, user_id=world["admin_a"].id
        )
    with pytest.raises(NotFound):  # not the admin's department
        link(session, actor=world["admin_b"], inspector_id=inspector.id, user_id=world["insp_a"].id)
    link(session, actor=world["admin_a"], inspector_id=inspector.id, user_id=world["insp_a"].id)
    assert inspector.user_id == world["insp_a"].id
    with pytest.raises(Conflict):
        link(
            session,
            actor=world["admin_a"],
            inspector_id=registry["inspectors"][1].id,
            user_id=world["insp_a"].id,
        )
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "inspectors.link_account")
    ).one()
    assert json.loads(entry.after)["user_id"] == world["insp_a"].id


def test_department_codes_fit_the_draw_bundle(session, world):
    from shuangsuiji.services.accounts import departments

    values = {
        "code": "廊坊 局",
        "name": "测试局",
        "kind": "市场监管",
        "level": "province",
        "region_code": "130000",
    }
    with pytest.raises(Invalid) as exc:
        departments.create(session, actor=world["sysadmin"], values=values)
    assert "code" in exc.value.errors
