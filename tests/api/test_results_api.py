"""Result entry and review over the API, with API tokens."""

from __future__ import annotations

import pytest

from shuangsuiji.services.accounts import tokens

from .. import results_world


@pytest.fixture
def w(session, world):
    return results_world.drawn(session, world)


def _bearer(session, user, scope="write"):
    _, secret = tokens.issue(session, actor=user, name="t", scope=scope, days=30, max_days=365)
    return {"Authorization": f"Bearer {secret}"}


def _url(w, suffix=""):
    return f"/api/v1/draws/{w['draw'].id}/results/{w['row'].drawn.position}{suffix}"


def test_enter_submit_review_over_the_api(client, session, world, w):
    inspector = _bearer(session, world["insp_a"])
    admin = _bearer(session, world["admin_a"])
    session.commit()
    body = results_world.entry(w["matters"], checked_on=w["checked_on"].isoformat())
    response = client.put(_url(w), json=body, headers=inspector)
    assert response.status_code == 200, response.get_json()
    doc = response.get_json()
    assert doc["status"] == "draft" and doc["can_enter"] and len(doc["matters"]) == 2
    assert client.post(_url(w, "/submit"), headers=inspector).get_json()["status"] == "submitted"
    other = _bearer(session, world["admin_b"])
    session.commit()
    refused = client.post(_url(w, "/review"), json={"decision": "approve"}, headers=other)
    assert refused.status_code == 404
    done = client.post(_url(w, "/review"), json={"decision": "approve"}, headers=admin)
    assert done.status_code == 200 and done.get_json()["status"] == "published"
    public = client.get(f"/api/v1/public/firms/{w['row'].drawn.uscc}")
    assert public.status_code == 200


def test_rule_errors_come_back_per_field(client, session, world, w):
    inspector = _bearer(session, world["insp_a"])
    session.commit()
    m = w["matters"][0]
    body = {"matters": {str(m.id): {"codes": ["A"], "methods": ["field"], "measures": ["none"]}}}
    response = client.put(_url(w), json=body, headers=inspector)
    assert response.status_code == 422
    errors = response.get_json()["errors"][f"matter_{m.id}"]
    assert any("具体情形" in e for e in errors) and any("须选择后续处置措施" in e for e in errors)


def test_another_departments_inspector_gets_404_for_any_position(client, session, world, w):
    outsider = _bearer(session, world["insp_b"])
    session.commit()
    assert client.get(_url(w), headers=outsider).status_code == 404
    body = results_world.entry(w["matters"])
    assert client.put(_url(w), json=body, headers=outsider).status_code == 404
    missing = f"/api/v1/draws/{w['draw'].id}/results/9999"
    assert client.get(missing, headers=outsider).status_code == 404
    assert (
        client.get(missing, headers=outsider).get_json()
        == client.get(_url(w), headers=outsider).get_json()
    )
