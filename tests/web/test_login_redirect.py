"""After login the browser goes back where it came from, but only to a path on this site."""

from __future__ import annotations

import pytest

from shuangsuiji.edge import safe_next

from ..conftest import PASSWORD, csrf_token

FALLBACK = "/console/"


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example/x",
        "/\n/evil.example/x",
        "\t//evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        " //evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "/\x00/evil.example",
        "",
        None,
    ],
)
def test_safe_next_refuses_anything_but_a_local_path(target):
    assert safe_next(target, FALLBACK) == FALLBACK


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console/plans?status=draft", "/console/plans?status=draft"),
        ("/console/draws/3", "/console/draws/3"),
        ("/console/\r\nSet-Cookie: x=1", "/console/Set-Cookie: x=1"),
    ],
)
def test_safe_next_keeps_a_local_path(target, expected):
    assert safe_next(target, FALLBACK) == expected


def _login(client, next_value: str):
    token = csrf_token(client)
    return client.post(
        "/console/login",
        query_string={"next": next_value},
        data={"username": "admin_a", "password": PASSWORD, "csrf_token": token},
    )


@pytest.mark.parametrize("next_value", ["/\t/evil.example/x", "/\\evil.example/x"])
def test_login_does_not_redirect_off_site(client, world, next_value):
    response = _login(client, next_value)
    assert response.status_code == 302
    assert response.headers["Location"] == FALLBACK


def test_login_with_line_breaks_in_next_is_no_500(client, world):
    response = _login(client, "/console/plans\r\nX-Injected: 1")
    assert response.status_code == 302
    assert "X-Injected" not in response.headers
    assert "\n" not in response.headers["Location"]


def test_login_returns_to_a_local_page(client, world):
    response = _login(client, "/console/plans?status=draft")
    assert response.headers["Location"] == "/console/plans?status=draft"
