"""API tokens: issued once, hashed, scoped, expiring, revocable; the API works with them."""

from __future__ import annotations

import datetime as dt

import time_machine

from shuangsuiji.db import ApiToken

from ..conftest import csrf_token, login


def _issue(client, scope="write", days=30):
    token = csrf_token(client, "/console/tokens")
    response = client.post(
        "/api/v1/tokens",
        json={"name": "脚本", "scope": scope, "days": days},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def test_token_calls_the_api_as_its_user(app, client, world):
    login(client, "admin_a")
    secret = _issue(client)["token"]
    me = app.test_client().get("/api/v1/me", headers=_bearer(secret)).get_json()
    assert me["user"]["username"] == "admin_a"
    assert me["via"] == "token"


def test_token_is_stored_only_hashed(client, world, session):
    login(client, "admin_a")
    secret = _issue(client)["token"]
    stored = session.query(ApiToken).one()
    assert stored.token_hash != secret and secret not in stored.token_hash
    assert stored.prefix == secret[:10]


def test_revoked_token_is_refused_at_once(app, client, world):
    login(client, "admin_a")
    issued = _issue(client)
    api = app.test_client()
    assert api.get("/api/v1/me", headers=_bearer(issued["token"])).status_code == 200
    response = client.delete(
        f"/api/v1/tokens/{issued['id']}",
        headers={"X-CSRFToken": csrf_token(client, "/console/tokens")},
    )
    assert response.status_code == 200
    assert api.get("/api/v1/me", headers=_bearer(issued["token"])).status_code == 401


def test_expired_token_is_refused(app, client, world):
    login(client, "admin_a")
    secret = _issue(client, days=1)["token"]
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=2)):
        assert app.test_client().get("/api/v1/me", headers=_bearer(secret)).status_code == 401


def test_read_only_token_cannot_write(app, client, world):
    login(client, "admin_a")
    secret = _issue(client, scope="read")["token"]
    api = app.test_client()
    assert api.get("/api/v1/users", headers=_bearer(secret)).status_code == 200
    response = api.post(
        "/api/v1/users",
        json={"username": "newbie", "display_name": "新人", "role": "inspector"},
        headers=_bearer(secret),
    )
    assert response.status_code == 403


def test_write_token_creates_user_without_csrf(app, client, world):
    login(client, "admin_a")
    secret = _issue(client)["token"]
    response = app.test_client().post(
        "/api/v1/users",
        json={
            "username": "newbie",
            "display_name": "新人",
            "role": "inspector",
            "department_id": world["a"].id,
        },
        headers=_bearer(secret),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["initial_password"] and body["must_change_password"] is True


def test_cookie_api_write_needs_csrf(client, world):
    login(client, "admin_a")
    response = client.post("/api/v1/tokens", json={"name": "x"})
    assert response.status_code == 400


def test_garbage_token_is_401(client):
    assert client.get("/api/v1/me", headers=_bearer("ssj_nonsense")).status_code == 401
    assert client.get("/api/v1/me", headers=_bearer("nonsense")).status_code == 401


def test_tokens_listed_in_console(client, world):
    login(client, "admin_a")
    _issue(client)
    page = client.get("/console/tokens").get_data(as_text=True)
    assert "脚本" in page and "吊销" in page


def test_deactivating_user_revokes_tokens(app, client, world, session):
    login(client, "insp_a")
    secret = _issue(client)["token"]
    admin = app.test_client()
    login(admin, "admin_a")
    admin.patch(
        f"/api/v1/users/{world['insp_a'].id}",
        json={"active": False},
        headers={"X-CSRFToken": csrf_token(admin, "/console/tokens")},
    )
    assert app.test_client().get("/api/v1/me", headers=_bearer(secret)).status_code == 401
