"""Console login: server-side sessions end at once; timeouts; throttling; CSRF."""

from __future__ import annotations

import datetime as dt

import time_machine

from shuangsuiji.db import UserSession

from ..conftest import PASSWORD, csrf_token, login


def _cookie(client):
    return client.get_cookie("ssj_session").value


def _replay(app, cookie_value):
    fresh = app.test_client()
    fresh.set_cookie("ssj_session", cookie_value)
    return fresh.get("/console/users")


def test_login_lands_on_dashboard(client, world):
    response = login(client, "admin_a")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/")
    assert "工作台" in client.get("/console/").get_data(as_text=True)


def test_wrong_password_is_refused_in_chinese(client, world):
    response = login(client, "admin_a", "wrong-password")
    assert response.status_code == 422
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_logout_kills_a_replayed_cookie(app, client, world):
    login(client, "admin_a")
    cookie = _cookie(client)
    assert _replay(app, cookie).status_code == 200
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    response = _replay(app, cookie)
    assert response.status_code == 302
    assert "/console/login" in response.headers["Location"]


def test_password_change_ends_other_sessions(app, world):
    first, second = app.test_client(), app.test_client()
    login(first, "admin_a")
    login(second, "admin_a")
    response = first.post(
        "/console/password",
        data={
            "current_password": PASSWORD,
            "new_password": "Another-Passw0rd!",
            "confirm_password": "Another-Passw0rd!",
            "csrf_token": csrf_token(first, "/console/password"),
        },
    )
    assert response.status_code == 302
    assert first.get("/console/users").status_code == 200  # this browser got a fresh session
    assert second.get("/console/users").status_code == 302  # the other one is out


def test_deactivation_ends_sessions(app, world, session):
    victim = app.test_client()
    login(victim, "insp_a")
    assert victim.get("/console/users").status_code == 200
    admin = app.test_client()
    login(admin, "admin_a")
    response = admin.post(
        f"/console/users/{world['insp_a'].id}",
        data={
            "display_name": "停用者",
            "role": "inspector",
            "active__present": "1",
            "csrf_token": csrf_token(admin, f"/console/users/{world['insp_a'].id}"),
        },
    )
    assert response.status_code == 302
    assert victim.get("/console/users").status_code == 302


def test_idle_timeout(app, client, world):
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as traveller:
        login(client, "admin_a")
        traveller.shift(dt.timedelta(minutes=20))
        assert client.get("/console/users").status_code == 200
        traveller.shift(dt.timedelta(minutes=31))
        assert client.get("/console/users").status_code == 302


def test_absolute_timeout_despite_activity(app, client, world):
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as traveller:
        login(client, "admin_a")
        for _ in range(47):  # active every 15 minutes for 11¾ hours
            traveller.shift(dt.timedelta(minutes=15))
            assert client.get("/console/users").status_code == 200
        traveller.shift(dt.timedelta(minutes=20))  # 12 h 5 min after login
        assert client.get("/console/users").status_code == 302


def test_session_is_stored_hashed(client, world, session):
    login(client, "admin_a")
    cookie = _cookie(client)
    rows = session.query(UserSession).all()
    assert rows and all(len(r.token_hash) == 64 for r in rows)
    assert not any(r.token_hash in cookie for r in rows)


def test_login_requires_csrf(client, world):
    response = client.post("/console/login", data={"username": "admin_a", "password": PASSWORD})
    assert response.status_code == 400


def test_login_throttled_per_user(db, session, world):
    from shuangsuiji.app import create_app

    app = create_app({"ENV": "testing", "LOGIN_USER_RATE_LIMIT": "3 per minute"}, database=db)
    client = app.test_client()
    statuses = [login(client, "admin_a", "wrong").status_code for _ in range(4)]
    assert statuses[:3] == [422, 422, 422]
    assert statuses[3] == 429
    assert "登录尝试次数过多" in login(client, "admin_a").get_data(as_text=True)


def test_must_change_password_first(client, world, session):
    world["admin_a"].must_change_password = True
    session.commit()
    login(client, "admin_a")
    response = client.get("/console/users")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/password")
