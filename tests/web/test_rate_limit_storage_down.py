"""Redis (the rate-limit storage) down: login fails closed with a Chinese 503 page, public
searches fail open with a log line (README, "Configuration and production")."""

from __future__ import annotations

import logging
import socket

import pytest

from shuangsuiji.app import create_app

from ..conftest import PASSWORD, csrf_token


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_down_app(db, session, tmp_path):
    app = create_app(
        {
            "ENV": "testing",
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "EXPORT_DIR": str(tmp_path / "exports"),
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{_unused_port()}/0",
        },
        database=db,
    )
    app.config["TESTING"] = True
    return app


def test_login_fails_closed_with_a_chinese_503(redis_down_app, world):
    client = redis_down_app.test_client()
    response = client.post(
        "/console/login",
        data={"username": "admin_a", "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 503
    assert "登录暂时不可用" in response.get_data(as_text=True)
    assert "ssj_session" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("path", ["/public/results?q=廊坊", "/api/v1/public/results?q=廊坊"])
def test_public_search_fails_open_and_logs(redis_down_app, caplog, path):
    client = redis_down_app.test_client()
    with caplog.at_level(logging.WARNING, logger="shuangsuiji.edge"):
        response = client.get(path)
    assert response.status_code == 200
    assert "rate-limit storage unreachable, public-search not limited" in caplog.text
