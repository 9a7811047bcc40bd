"""Hostile input at the request edge: ids beyond the integer columns, page numbers and cursors
beyond range, NUL and control characters, lists beyond the bind-parameter limit. None of them
may reach the database: each is a 404, 400 or 422 with a message, never a 500."""

from __future__ import annotations

import pytest

from shuangsuiji.errors import Invalid
from shuangsuiji.services.plans import plans
from shuangsuiji.sizes import INT_MAX, MAX_MATTERS, MAX_SLOTS, NOTE_TEXT

from .. import draw_world
from ..conftest import csrf_token, login

BEYOND = INT_MAX + 1


def _api(app, username="admin_a"):
    client = app.test_client()
    login(client, username)
    return client, {"X-CSRFToken": csrf_token(client, "/console/tokens")}


@pytest.fixture
def draft(session, world):
    plan = plans.create(
        session, actor=world["admin_a"], department_id=world["a"].id, raw=draw_world.plan_values()
    )
    session.commit()
    return plan


@pytest.mark.parametrize(
    "path",
    [
        f"/public/draws/{BEYOND}",
        "/public/draws/99999999999999999999999",
        f"/api/v1/public/draws/{BEYOND}",
        "/api/v1/public/draws/99999999999",
    ],
)
def test_public_id_beyond_integer_range_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    if path.startswith("/api/"):
        assert response.get_json()["code"] == 404
    else:
        assert "页面或对象不存在" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"/api/v1/plans/{BEYOND}"),
        ("patch", f"/api/v1/plans/{BEYOND}"),
        ("get", f"/api/v1/draws/{BEYOND}/teams"),
        ("get", f"/api/v1/draws/1/results/{BEYOND}"),
        ("get", f"/api/v1/entities/{BEYOND}"),
        ("get", f"/api/v1/tasks/{BEYOND}"),
        ("post", f"/api/v1/credit/listings/{BEYOND}/list"),
        ("get", f"/console/plans/{BEYOND}"),
        ("get", f"/console/draws/{BEYOND}"),
        ("get", f"/console/tasks/{BEYOND}"),
    ],
)
def test_signed_in_id_beyond_integer_range_is_404(app, world, method, path):
    client, headers = _api(app, "root")
    response = getattr(client, method)(path, headers=headers, json={})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/matters?department=99999999999",
    ],
)
def test_page_arguments_beyond_range_are_404_on_pages(client, path):
    assert client.get(path).status_code == 404


def test_console_page_arguments_beyond_range_are_404(app, world):
    client, _ = _api(app, "root")
    assert client.get("/console/audit?cursor=" + "x" * 2000).status_code == 422  # keyset paged
    assert client.get("/console/entities?cursor=" + "x" * 2000).status_code == 422
    assert client.get("/matters?cursor=" + "x" * 2000).status_code == 422
    assert client.get(f"/console/plans/new?department_id={BEYOND}").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/entities?limit=99999999999",
        f"/api/v1/users?department_id={BEYOND}",
        f"/api/v1/conflicts?entity_id={BEYOND}",
        "/api/v1/credit/events?after=99999999999",
        f"/api/v1/outbox/messages?channel=sms&after={BEYOND}",
    ],
)
def test_api_query_integers_beyond_range_are_422(app, world, path):
    client, _ = _api(app, "root")
    response = client.get(path)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"]["query"]


def test_api_body_integer_beyond_range_is_422(app, world, draft):
    client, headers = _api(app)
    response = client.patch(
        f"/api/v1/plans/{draft.id}", headers=headers, json={"workload_cap": BEYOND}
    )
    assert response.status_code == 422
    assert "workload_cap" in response.get_json()["errors"]["json"]


def test_nul_in_a_public_search_is_400_with_a_chinese_message(client):
    response = client.get("/public/results?q=廊%00坊")
    assert response.status_code == 400
    assert "控制字符" in response.get_data(as_text=True)


def test_nul_in_the_login_name_is_400(client, world):
    token = csrf_token(client)
    response = client.post(
        "/console/login", data={"username": "admin_a\x00", "password": "x", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "控制字符" in response.get_data(as_text=True)


def test_control_characters_in_api_query_and_json_are_structured_400(app, world, draft):
    client, headers = _api(app)
    response = client.get("/api/v1/entities?q=a%00b")
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"query": {"q": ["不能包含控制字符（如 NUL）"]}}
    response = client.patch(
        f"/api/v1/plans/{draft.id}",
        headers=headers,
        json={"title": "新\x00标题", "scope": {"tags": ["ok", "b\x1bad"]}},
    )
    assert response.status_code == 400
    assert set(response.get_json()["errors"]["json"]) == {"title", "scope.tags[1]"}


def test_nul_in_a_path_segment_is_404(client):
    assert client.get("/public/firms/%00").status_code == 404
    assert client.get("/api/v1/public/firms/91%00").status_code == 404


def test_tabs_and_line_breaks_stay_allowed(app, world, draft):
    client, headers = _api(app)
    response = client.patch(
        f"/api/v1/plans/{draft.id}", headers=headers, json={"notes": "第一行\r\n\t第二行"}
    )
    assert response.status_code == 200, response.get_json()


def test_more_matter_ids_than_bind_parameters_is_422(app, world, draft):
    client, headers = _api(app)
    response = client.patch(
        f"/api/v1/plans/{draft.id}", headers=headers, json={"matter_ids": list(range(1, 100_001))}
    )
    assert response.status_code == 422
    assert "matter_ids" in response.get_json()["errors"]["json"]


def test_the_plan_service_limits_lists_from_the_console_form(session, world, draft):
    with pytest.raises(Invalid) as caught:
        plans.update(
            session,
            actor=world["admin_a"],
            plan_id=draft.id,
            raw={"matter_ids": [str(i) for i in range(1, 100_001)]},
        )
    assert f"最多选择 {MAX_MATTERS} 个抽查事项" in caught.value.errors["matter_ids"]
    with pytest.raises(Invalid) as caught:
        plans.update(
            session,
            actor=world["admin_a"],
            plan_id=draft.id,
            raw={"slots": ["DEPT-A"] * 50_000, "workload_cap": str(BEYOND)},
        )
    assert set(caught.value.errors) == {"slots", "workload_cap"}


def test_a_request_beyond_the_cap_is_413_naming_the_limit(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    response = client.post("/console/login", data={"username": "x" * 4096, "password": "y"})
    assert response.status_code == 413
    assert "请求过大：不能超过 2 KB" in response.get_data(as_text=True)


def test_plan_notes_and_lists_have_maxima_on_the_api_and_in_the_service(app, session, world, draft):
    client, headers = _api(app)
    for body in (
        {"notes": "注" * (NOTE_TEXT + 1)},
        {"slots": ["DEPT-A"] * (MAX_SLOTS + 1)},
        {"scope": {"tags": ["t"] * 50_000}},
        {"title": "题" * 100_000},
    ):
        response = client.patch(f"/api/v1/plans/{draft.id}", headers=headers, json=body)
        assert response.status_code == 422, body.keys()
        assert set(response.get_json()["errors"]["json"]) == set(body)
    with pytest.raises(Invalid) as caught:
        plans.update(
            session,
            actor=world["admin_a"],
            plan_id=draft.id,
            raw={"notes": "注" * 100_000, "scope": {"tags": ["t"] * 50_000}},
        )
    assert set(caught.value.errors) == {"notes", "scope"}
