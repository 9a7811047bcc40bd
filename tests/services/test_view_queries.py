"""The small reads the console views ask the services for instead of querying themselves."""

from __future__ import annotations

from shuangsuiji.db import Role
from shuangsuiji.services.accounts import departments
from shuangsuiji.services.registry import records

from .. import factories


def test_list_all_departments_by_code_or_region_and_only_active_ones(session):
    b = factories.DepartmentFactory(code="B", region_code="130100")
    a = factories.DepartmentFactory(code="A", region_code="130200")
    closed = factories.DepartmentFactory(code="C", region_code="130000", active=False)
    assert [d.code for d in departments.list_all(session)][:3] == ["A", "B", "C"]
    by_region = [d.code for d in departments.list_all(session, by_region=True)]
    assert by_region.index("C") < by_region.index("B") < by_region.index("A")
    active = departments.list_all(session, active_only=True)
    assert a in active and b in active and closed not in active


def test_matters_for_plan_lists_the_lead_departments_first_then_the_participants(session):
    lead, partner, other = (factories.DepartmentFactory() for _ in range(3))
    factories.MatterFactory(department=partner, code="M-01")
    factories.MatterFactory(department=lead, code="M-09")
    factories.MatterFactory(department=lead, code="M-02")
    factories.MatterFactory(department=other, code="M-00")
    found = records.matters_for_plan(session, lead.id, [partner.id])
    assert [(m.department_id, m.code) for m in found] == [
        (lead.id, "M-02"),
        (lead.id, "M-09"),
        (partner.id, "M-01"),
    ]


def test_inspectors_of_account_are_the_records_linked_to_the_user(session):
    user = factories.UserFactory(role=Role.INSPECTOR)
    mine = factories.InspectorFactory(department=user.department, user_id=user.id)
    factories.InspectorFactory(department=user.department)
    assert records.inspectors_of_account(session, user) == [mine]
