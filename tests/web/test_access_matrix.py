"""Walk the URL map: every route against no user, a user of another department, the right user."""

from __future__ import annotations

import re

import pytest

from shuangsuiji.access import rule_for
from shuangsuiji.services import tasks, tokens

from ..conftest import csrf_token, login

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def objects(world, session):
    """Objects of department A that the URL parameters point at."""
    _, token_secret = tokens.issue(
        session, actor=world["admin_a"], name="a", scope="write", days=30, max_days=365
    )
    token = tokens.list_own(session, world["admin_a"])[0]
    task = tasks.enqueue(
        session, kind="audit.verify", params={}, actor=world["admin_a"], department_id=world["a"].id
    )
    session.commit()
    return {
        "department_id": world["a"].id,
        "user_id": world["insp_a"].id,
        "token_id": token.id,
        "task_id": task.id,
        "filename": "css/site.css",
    }


def _cases(app):
    for url_rule in app.url_map.iter_rules():
        view = app.view_functions[url_rule.endpoint]
        for method in sorted((url_rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield url_rule, method, rule_for(view, method)


def _url(url_rule, objects) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(objects[m.group(1)]), url_rule.rule)


def _request(client, method, url, *, csrf):
    kwargs = {}
    if method in UNSAFE:
        kwargs["headers"] = {"X-CSRFToken": csrf}
        kwargs["data"] = {"csrf_token": csrf}
    response = client.open(url, method=method, **kwargs)
    response.close()  # static files hold an open file until closed
    return response


def _right_user(rule, world):
    if rule.public:
        return None
    if not rule.roles or "dept_admin" in rule.roles:
        return world["admin_a"]
    return world["sysadmin"] if "sysadmin" in rule.roles else world["auditor"]


def test_every_route_against_three_callers(app, world, objects):
    checked = 0
    for url_rule, method, rule in _cases(app):
        assert rule is not None, f"{method} {url_rule.rule} declares no access rule"
        url = _url(url_rule, objects)
        is_api = url.startswith("/api/")
        has_object = "<" in url_rule.rule and url_rule.endpoint != "static"

        # 1. Nobody signed in: public routes answer, the rest refuse.
        anonymous = app.test_client()
        response = _request(anonymous, method, url, csrf="")
        if not rule.public:
            expected = {401} if is_api else {302, 400}  # 400: CSRF refused before login
            assert response.status_code in expected, (method, url, response.status_code)
            if response.status_code == 302:
                assert "/console/login" in response.headers["Location"]
        else:
            assert response.status_code < 500, (method, url)

        right = _right_user(rule, world)
        if right is None:
            checked += 1
            continue

        # 2. A user of department B: never reaches A's objects.
        other = app.test_client()
        login(other, "admin_b")
        response = _request(other, method, url, csrf=csrf_token(other, "/console/tokens"))
        if has_object:
            assert response.status_code in (403, 404), (method, url, response.status_code)
        else:
            assert response.status_code < 500, (method, url, response.status_code)

        # 3. The right user is let through (the request may still be invalid: 4xx not 401/403).
        own = app.test_client()
        login(own, right.username)
        response = _request(own, method, url, csrf=csrf_token(own, "/console/tokens"))
        assert response.status_code not in (401, 403, 404), (method, url, response.status_code)
        assert response.status_code < 500, (method, url, response.status_code)
        checked += 1
    assert checked > 30
