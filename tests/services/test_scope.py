"""The permission predicates of services/scope.py: who administers, reads, audits what."""

from __future__ import annotations

import pytest

from shuangsuiji.db import Role, User
from shuangsuiji.errors import Forbidden
from shuangsuiji.services import scope

OWN, OTHER = 1, 2


def person(role: Role, department_id: int | None = OWN) -> User:
    if role in (Role.SYSADMIN, Role.AUDITOR):
        department_id = None
    return User(role=role, department_id=department_id)


class Anonymous:
    """What Flask-Login hands a template for a visitor: no role, no department."""


@pytest.mark.parametrize(
    ("role", "sysadmin", "dept_admin", "inspector", "auditor", "admin", "reads_all", "audits"),
    [
        (Role.SYSADMIN, True, False, False, False, True, True, True),
        (Role.DEPT_ADMIN, False, True, False, False, True, False, True),
        (Role.INSPECTOR, False, False, True, False, False, False, False),
        (Role.AUDITOR, False, False, False, True, False, True, True),
    ],
)
def test_role_predicates(role, sysadmin, dept_admin, inspector, auditor, admin, reads_all, audits):
    actor = person(role)
    assert scope.is_sysadmin(actor) is sysadmin
    assert scope.is_dept_admin(actor) is dept_admin
    assert scope.is_inspector(actor) is inspector
    assert scope.is_auditor(actor) is auditor
    assert scope.is_admin(actor) is admin
    assert scope.reads_all(actor) is reads_all
    assert scope.audits(actor) is audits


def test_a_visitor_satisfies_no_predicate():
    visitor = Anonymous()
    for predicate in (
        scope.is_sysadmin,
        scope.is_dept_admin,
        scope.is_inspector,
        scope.is_auditor,
        scope.is_admin,
        scope.reads_all,
        scope.audits,
    ):
        assert predicate(visitor) is False
    assert scope.administers(visitor, OWN) is False


@pytest.mark.parametrize(
    ("role", "own", "other", "none"),
    [
        (Role.SYSADMIN, True, True, True),
        (Role.DEPT_ADMIN, True, False, False),
        (Role.INSPECTOR, False, False, False),
        (Role.AUDITOR, False, False, False),
    ],
)
def test_administers(role, own, other, none):
    actor = person(role)
    assert scope.administers(actor, OWN) is own
    assert scope.administers(actor, OTHER) is other
    assert scope.administers(actor, None) is none


@pytest.mark.parametrize(
    ("role", "own", "other"),
    [
        (Role.SYSADMIN, True, True),
        (Role.DEPT_ADMIN, True, False),
        (Role.INSPECTOR, True, False),
        (Role.AUDITOR, True, True),
    ],
)
def test_sees(role, own, other):
    actor = person(role)
    assert scope.sees(actor, OWN) is own
    assert scope.sees(actor, OTHER) is other


def test_require_admin_of_refuses_another_department():
    scope.require_admin_of(person(Role.DEPT_ADMIN), OWN)
    with pytest.raises(Forbidden):
        scope.require_admin_of(person(Role.DEPT_ADMIN), OTHER)
    with pytest.raises(Forbidden):
        scope.require_admin_of(person(Role.AUDITOR), OWN)


def test_require_sysadmin():
    scope.require_sysadmin(person(Role.SYSADMIN))
    for role in (Role.DEPT_ADMIN, Role.INSPECTOR, Role.AUDITOR):
        with pytest.raises(Forbidden):
            scope.require_sysadmin(person(role))


def test_own_department():
    # The system administrator names the department; everyone else creates in their own.
    assert scope.own_department(person(Role.SYSADMIN), OTHER) == OTHER
    assert scope.own_department(person(Role.SYSADMIN), None) is None
    assert scope.own_department(person(Role.DEPT_ADMIN), OTHER) == OWN
    assert scope.own_department(person(Role.DEPT_ADMIN), None) == OWN


# A joint plan led by OWN with OTHER participating: what each reader gets of it.
@pytest.mark.parametrize(
    ("role", "department_id", "whole", "opens", "bundle"),
    [
        (Role.SYSADMIN, None, True, True, True),
        (Role.AUDITOR, None, True, True, True),
        (Role.DEPT_ADMIN, OWN, True, True, True),
        (Role.INSPECTOR, OWN, True, False, False),
        (Role.DEPT_ADMIN, OTHER, False, True, False),
        (Role.INSPECTOR, OTHER, False, False, False),
    ],
)
def test_a_joint_plan_s_parts(role, department_id, whole, opens, bundle):
    actor = person(role, department_id)
    assert scope.sees_whole_plan(actor, OWN) is whole
    assert scope.sees_strata(actor, OWN) is whole
    assert scope.opens_draws(actor) is opens
    assert scope.downloads_bundle(actor, OWN) is bundle


def test_a_joint_team_is_named_to_the_lead_s_readers_and_to_its_own_members():
    member = person(Role.INSPECTOR, OTHER)
    member.id = 7
    admin = person(Role.DEPT_ADMIN, OTHER)
    admin.id = 8
    assert scope.names_team(member, OWN, {7, 9})  # on the team: meets them all
    assert not scope.names_team(member, OWN, {9})  # another team of the draw
    assert not scope.names_team(admin, OWN, {7, 9})  # its administrator is not on it
    assert scope.names_team(person(Role.DEPT_ADMIN, OWN), OWN, set())
    assert scope.names_team(person(Role.AUDITOR), OWN, set())
