"""A department's data is its own: lists are scoped and other departments' ids are not found."""

from __future__ import annotations

from ..conftest import csrf_token, login


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client, csrf_token(client, "/console/tokens")


def test_department_admin_lists_only_own_users(app, world):
    client, _ = _client(app, "admin_a")
    names = {u["username"] for u in client.get("/api/v1/users").get_json()["items"]}
    assert names == {"admin_a", "insp_a"}


def test_inspector_sees_only_self(app, world):
    client, _ = _client(app, "insp_a")
    assert [u["username"] for u in client.get("/api/v1/users").get_json()["items"]] == ["insp_a"]
    assert client.get(f"/api/v1/users/{world['admin_a'].id}").status_code == 404


def test_guessed_id_of_other_department_is_not_found(app, world):
    client, csrf = _client(app, "admin_a")
    b_user = world["insp_b"].id
    assert client.get(f"/api/v1/users/{b_user}").status_code == 404
    patch = client.patch(
        f"/api/v1/users/{b_user}", json={"active": False}, headers={"X-CSRFToken": csrf}
    )
    assert patch.status_code == 404
    assert client.get(f"/console/users/{b_user}").status_code == 404
    assert client.get(f"/api/v1/departments/{world['b'].id}").status_code == 404


def test_department_admin_cannot_create_user_in_other_department(app, world):
    client, csrf = _client(app, "admin_a")
    response = client.post(
        "/api/v1/users",
        json={
            "username": "intruder",
            "display_name": "x",
            "role": "inspector",
            "department_id": world["b"].id,
        },
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 403


def test_department_admin_cannot_grant_sysadmin(app, world):
    client, csrf = _client(app, "admin_a")
    response = client.patch(
        f"/api/v1/users/{world['insp_a'].id}",
        json={"role": "sysadmin"},
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 403


def test_auditor_reads_everything_and_changes_nothing(app, world):
    client, csrf = _client(app, "audit")
    assert len(client.get("/api/v1/users").get_json()["items"]) == 6
    assert client.get(f"/api/v1/users/{world['insp_b'].id}").status_code == 200
    response = client.patch(
        f"/api/v1/users/{world['insp_b'].id}",
        json={"active": False},
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 403


def test_sysadmin_creates_department_in_hierarchy(app, world):
    client, csrf = _client(app, "root")
    response = client.post(
        "/api/v1/departments",
        json={
            "code": "A-COUNTY",
            "name": "某县市场监督管理局",
            "kind": "市场监管",
            "level": "county",
            "region_code": "131024",
            "parent_id": world["a"].id,
        },
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 201, response.get_json()
    wrong = client.post(
        "/api/v1/departments",
        json={
            "code": "BAD",
            "name": "错层级的县局",
            "kind": "市场监管",
            "level": "county",
            "region_code": "131024",
            "parent_id": world["province"].id,
        },
        headers={"X-CSRFToken": csrf},
    )
    assert wrong.status_code == 422
    assert "parent_id" in wrong.get_json()["errors"]


def test_duplicate_department_code_is_409(app, world):
    client, csrf = _client(app, "root")
    response = client.post(
        "/api/v1/departments",
        json={
            "code": "DEPT-A",
            "name": "重复",
            "kind": "市场监管",
            "level": "province",
            "region_code": "130000",
        },
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 409


def test_bad_input_is_structured_422(app, world):
    client, csrf = _client(app, "root")
    response = client.post(
        "/api/v1/departments",
        json={"code": "!", "kind": "bogus"},
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert {"code", "kind", "name", "level", "region_code"} <= set(errors)


def test_a_user_email_for_reminders_is_checked_saved_and_cleared(app, world):
    client, csrf = _client(app, "admin_a")
    url = f"/api/v1/users/{world['insp_a'].id}"
    bad = client.patch(url, json={"email": "not-an-address"}, headers={"X-CSRFToken": csrf})
    assert bad.status_code == 422
    ok = client.patch(url, json={"email": "insp@example.cn"}, headers={"X-CSRFToken": csrf})
    assert ok.status_code == 200 and ok.get_json()["email"] == "insp@example.cn"
    cleared = client.patch(url, json={"email": None}, headers={"X-CSRFToken": csrf})
    assert cleared.get_json()["email"] is None
