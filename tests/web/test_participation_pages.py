"""Console pages of a joint plan's consent: the participant answers on the plan page and finds
the request under 联合抽查邀请; the lead sees the answer and counts, never the names."""

from __future__ import annotations

import pytest

from shuangsuiji.db.states import Role
from shuangsuiji.services.plans import plans

from .. import draw_world, factories
from ..conftest import csrf_token, login


@pytest.fixture
def joint_plan(session, world):
    lead = draw_world.populate(session, world["a"])
    part = draw_world.populate(session, world["b"], entities=0, inspectors=6, cert_prefix="88")
    factories.UserFactory(
        username="admin_c",
        role=Role.DEPT_ADMIN,
        department=factories.DepartmentFactory(code="DEPT-C"),
    )
    plan = plans.create(
        session,
        actor=world["admin_a"],
        department_id=world["a"].id,
        raw=draw_world.plan_values(slots=["DEPT-A", "DEPT-B"], matter_ids=[lead["matter"].id]),
    )
    session.commit()
    return plan, part


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client


def _post(client, path, data):
    token = csrf_token(client, "/console/plans")
    return client.post(path, data=data | {"csrf_token": token})


def test_the_participant_answers_and_the_lead_commits_after(app, world, joint_plan):
    plan, part = joint_plan
    lead, member = _client(app, "admin_a"), _client(app, "admin_b")
    answer = f"/console/plans/{plan.id}/participations/{world['b'].id}"

    dashboard = member.get("/console/").get_data(as_text=True)
    assert 'id="pending-participations"' in dashboard and plan.code in dashboard
    assert 'id="pending-participations"' not in lead.get("/console/").get_data(as_text=True)
    requests = member.get("/console/participations").get_data(as_text=True)
    assert plan.code in requests and "待确认" in requests and "联合抽查邀请" in requests
    page = lead.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert "配合部门确认" in page and "待确认" in page
    assert '<span class="eligible-count">6</span> 人' in page
    assert not any(i.cert_no in page for i in part["inspectors"])
    assert "answer-accept" not in page  # the lead cannot answer for B

    refused = _post(lead, f"/console/plans/{plan.id}/commit", {})
    assert refused.status_code == 409
    assert "配合部门尚未确认参加" in refused.get_data(as_text=True)
    assert _post(lead, answer, {"decision": "accept"}).status_code == 403
    assert _post(_client(app, "admin_c"), answer, {"decision": "accept"}).status_code == 404

    page = member.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert "answer-accept" in page and "answer-decline" in page
    no_reason = _post(member, answer, {"decision": "decline", "reason": " "})
    assert no_reason.status_code == 422 and "拒绝参加须填写理由" in no_reason.get_data(as_text=True)
    declined = _post(member, answer, {"decision": "decline", "reason": "人员外出培训"})
    assert declined.status_code == 302
    page = lead.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert "已拒绝" in page and "人员外出培训" in page
    refused = _post(lead, f"/console/plans/{plan.id}/commit", {})
    assert "已拒绝：人员外出培训" in refused.get_data(as_text=True)

    assert _post(member, answer, {"decision": "accept"}).status_code == 302
    assert 'id="pending-participations"' not in member.get("/console/").get_data(as_text=True)
    assert _post(lead, f"/console/plans/{plan.id}/commit", {}).status_code == 302
    page = member.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert "已确认参加" in page and "answer-accept" not in page  # committed: frozen
