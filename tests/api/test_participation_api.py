"""A joint plan's consent over the API: the participant answers, the lead reads the answers
and counts (never names), the commitment waits for every acceptance."""

from __future__ import annotations

from shuangsuiji.db.states import Role

from .. import draw_world, factories
from ..conftest import csrf_token, login


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client, {"X-CSRFToken": csrf_token(client, "/console/tokens")}


def test_the_commitment_waits_for_the_participants_answer(app, session, world):
    lead_registry = draw_world.populate(session, world["a"])
    part = draw_world.populate(session, world["b"], entities=0, inspectors=6, cert_prefix="88")
    factories.UserFactory(
        username="admin_c",
        role=Role.DEPT_ADMIN,
        department=factories.DepartmentFactory(code="DEPT-C"),
    )
    session.commit()
    lead, lead_headers = _client(app, "admin_a")
    member, member_headers = _client(app, "admin_b")
    outsider, outsider_headers = _client(app, "admin_c")

    created = lead.post(
        "/api/v1/plans",
        headers=lead_headers,
        json=draw_world.plan_values(
            slots=["DEPT-A", "DEPT-B"], matter_ids=[lead_registry["matter"].id]
        ),
    )
    assert created.status_code == 201, created.get_json()
    plan_id = created.get_json()["id"]
    answer = f"/api/v1/plans/{plan_id}/participations/{world['b'].id}"

    [row] = lead.get(f"/api/v1/plans/{plan_id}/participations").get_json()
    assert (row["department_code"], row["status"], row["eligible_inspectors"]) == (
        "DEPT-B",
        "pending",
        6,
    )
    text = lead.get(f"/api/v1/plans/{plan_id}/participations").get_data(as_text=True)
    assert not any(i.cert_no in text for i in part["inspectors"])
    [request] = member.get("/api/v1/participations?status=pending").get_json()["items"]
    assert (request["plan_id"], request["lead_department_id"]) == (plan_id, world["a"].id)
    assert lead.get("/api/v1/participations").get_json()["items"] == []
    assert outsider.get(f"/api/v1/plans/{plan_id}/participations").status_code == 404

    refused = lead.post(f"/api/v1/plans/{plan_id}/commit", headers=lead_headers, json={})
    assert refused.status_code == 409
    assert refused.get_json()["errors"]["participants"]

    assert lead.post(answer, headers=lead_headers, json={"decision": "accept"}).status_code == 403
    assert (
        outsider.post(answer, headers=outsider_headers, json={"decision": "accept"}).status_code
        == 404
    )
    no_reason = member.post(answer, headers=member_headers, json={"decision": "decline"})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    bad = member.post(answer, headers=member_headers, json={"decision": "maybe"})
    assert bad.status_code == 422
    declined = member.post(
        answer, headers=member_headers, json={"decision": "decline", "reason": "人员不足"}
    )
    assert declined.status_code == 200
    assert (declined.get_json()["status"], declined.get_json()["reason"]) == (
        "declined",
        "人员不足",
    )
    accepted = member.post(answer, headers=member_headers, json={"decision": "accept"})
    assert accepted.get_json()["status"] == "accepted"

    committed = lead.post(f"/api/v1/plans/{plan_id}/commit", headers=lead_headers, json={})
    assert committed.status_code == 201, committed.get_json()
    late = member.post(answer, headers=member_headers, json={"decision": "accept"})
    assert late.status_code == 409


def test_the_openapi_document_describes_the_consent_operations(app):
    paths = app.test_client().get("/api/openapi.json").get_json()["paths"]
    operation = paths["/api/v1/plans/{plan_id}/participations/{department_id}"]["post"]
    assert "requestBody" in operation and "200" in operation["responses"]
    assert "get" in paths["/api/v1/participations"]


def test_an_answer_without_a_decision_is_named_after_the_scope_check(app, session, world):
    lead_registry = draw_world.populate(session, world["a"])
    draw_world.populate(session, world["b"], entities=0, inspectors=4, cert_prefix="88")
    session.commit()
    lead, lead_headers = _client(app, "admin_a")
    plan_id = lead.post(
        "/api/v1/plans",
        headers=lead_headers,
        json=draw_world.plan_values(
            slots=["DEPT-A", "DEPT-B"], matter_ids=[lead_registry["matter"].id]
        ),
    ).get_json()["id"]
    member, member_headers = _client(app, "admin_b")
    missing = member.post(
        f"/api/v1/plans/{plan_id}/participations/{world['b'].id}",
        headers=member_headers,
        json={},
    )
    assert missing.status_code == 422 and "decision" in missing.get_json()["errors"]
    unknown = member.post(
        f"/api/v1/plans/{plan_id + 1}/participations/{world['b'].id}",
        headers=member_headers,
        json={},
    )
    assert unknown.status_code == 404
