"""The audit checkpoints (public page and API) reach back to the first day of the trail page
by page, instead of stopping at the newest 366 (page) or 60 (API)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from shuangsuiji.db import AuditCheckpoint
from shuangsuiji.services.pages import encode_cursor
from shuangsuiji.services.platform import audit
from shuangsuiji.web import public

from ..conftest import login

FIRST = dt.date(2016, 1, 1)
DAYS = 400  # more than the public page showed (366) and the API (60)


@pytest.fixture
def days(session):
    for n in range(DAYS):
        session.add(
            AuditCheckpoint(day=FIRST + dt.timedelta(days=n), entry_count=n, head_hash=f"{n:064x}")
        )
    session.commit()
    return [FIRST + dt.timedelta(days=n) for n in reversed(range(DAYS))]


def _days(html: str) -> list[str]:
    return re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td>", html)


def _next(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_public_page_reaches_the_first_day(app, days, monkeypatch):
    monkeypatch.setattr(public, "PUBLIC_CHECKPOINTS_PER_PAGE", 150)
    client = app.test_client()
    url, pages, seen = "/audit-checkpoints", [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        pages.append(html)
        seen += _days(html)
        url = _next(html)
    assert seen == [d.isoformat() for d in days]  # newest first, every day, once
    assert len(pages) == 3
    assert "回到第一页" in pages[1] and "回到第一页" not in pages[0]
    assert "已到最后一页" in pages[-1]


def test_the_public_page_without_checkpoints_and_with_a_bad_cursor(app):
    client = app.test_client()
    html = client.get("/audit-checkpoints").get_data(as_text=True)
    assert "尚无检查点" in html and "已到最后一页" in html
    assert client.get("/audit-checkpoints?cursor=nonsense").status_code == 422


def test_the_api_pages_by_cursor_to_the_first_day(app, world, days):
    client = app.test_client()
    login(client, "audit")
    url, seen, pages = "/api/v1/audit/checkpoints?limit=150", [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        body = response.get_json()
        seen += [c["day"] for c in body["items"]]
        assert body["limit"] == 150
        if body["next"]:
            assert response.headers["Link"] == f'<{body["next"]}>; rel="next"'
        url, pages = body["next"], pages + 1
    assert seen == [d.isoformat() for d in days] and pages == 3
    middle = client.get("/api/v1/audit/checkpoints?limit=2").get_json()
    after = client.get(middle["next"]).get_json()
    assert [c["day"] for c in after["items"]] == [d.isoformat() for d in days[2:4]]
    past = encode_cursor(audit.NEWEST_CHECKPOINTS, [FIRST - dt.timedelta(days=1)])
    beyond = client.get(f"/api/v1/audit/checkpoints?cursor={past}").get_json()
    assert beyond == {"items": [], "next": None, "limit": 50}
    assert client.get("/api/v1/audit/checkpoints?cursor=x").status_code == 422


def test_the_api_answers_an_empty_page_without_checkpoints(app, world):
    client = app.test_client()
    login(client, "root")
    body = client.get("/api/v1/audit/checkpoints").get_json()
    assert body == {"items": [], "next": None, "limit": 50}
