"""Keyset (cursor) paging of the API lists: first, middle and last page, an empty list, a
cursor past the end, a bad cursor; `next` and the Link header; no list stops at a limit."""

from __future__ import annotations

import pytest

from shuangsuiji.services import pages
from shuangsuiji.services.plans import plans

from .. import factories
from ..conftest import login


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client


def walk(client, url, limit):
    """Every page of `url` by its `next` links: the pages' items and the responses."""
    responses = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert len(body["items"]) <= limit
        responses.append(response)
        if body["next"]:
            assert response.headers["Link"] == f'<{body["next"]}>; rel="next"'
        else:
            assert "Link" not in response.headers
        url = body["next"]
    return responses


def check_paging(client, url, expected_ids, *, limit=2, id_of=lambda item: item["id"]):
    """`url` pages through exactly `expected_ids` in order, `limit` at a time."""
    sep = "&" if "?" in url else "?"
    responses = walk(client, f"{url}{sep}limit={limit}", limit)
    seen = [id_of(item) for r in responses for item in r.get_json()["items"]]
    assert seen == expected_ids
    assert len(responses) == max(1, -(-len(expected_ids) // limit))
    first, last = responses[0].get_json(), responses[-1].get_json()
    if len(expected_ids) > limit:
        assert first["next"] and f"limit={limit}" in first["next"]
        assert len(first["items"]) == limit
    assert last["next"] is None
    return responses


def check_bad_cursors(client, url):
    sep = "&" if "?" in url else "?"
    for bad in ("nonsense!", "eyJrIjpbImlkIl19", pages.encode_cursor(((FakeKey("x"), True),), [1])):
        response = client.get(f"{url}{sep}cursor={bad}")
        assert response.status_code == 422, bad
        assert "cursor" in response.get_json()["errors"], response.get_json()
    assert client.get(f"{url}{sep}limit=201").status_code == 422
    assert client.get(f"{url}{sep}limit=0").status_code == 422


class FakeKey:
    """A column name of another ordering, for a cursor that belongs to another list."""

    def __init__(self, key):
        self.key = key


@pytest.fixture
def committed(session, world):
    session.commit()
    return session


def test_plans_page_newest_first(app, session, world):
    made = [factories.PlanFactory(actor=world["admin_a"]) for _ in range(5)]
    factories.PlanFactory(actor=world["admin_b"])  # another department's: never listed
    session.commit()
    client = _client(app, "admin_a")
    newest_first = [p.id for p in reversed(made)]
    check_paging(client, "/api/v1/plans", newest_first, limit=2)  # 2 + 2 + 1
    check_paging(client, "/api/v1/plans", newest_first, limit=5)  # one full page, next null
    check_paging(client, "/api/v1/plans?status=draft", newest_first, limit=3)
    default = client.get("/api/v1/plans").get_json()
    assert [p["id"] for p in default["items"]] == newest_first
    assert default["limit"] == 50 and default["next"] is None
    # A cursor past the end: an empty page, no next.
    past = pages.encode_cursor(plans.NEWEST_PLANS, [min(newest_first)])
    body = client.get(f"/api/v1/plans?cursor={past}").get_json()
    assert body == {"items": [], "next": None, "limit": 50}
    check_bad_cursors(client, "/api/v1/plans")


def test_plans_page_empty(app, session, world):
    session.commit()
    client = _client(app, "admin_b")
    check_paging(client, "/api/v1/plans", [])
    check_paging(client, "/api/v1/plans?status=closed", [])


def test_a_plan_made_between_two_pages_does_not_shift_the_next(app, session, world):
    made = [factories.PlanFactory(actor=world["admin_a"]) for _ in range(4)]
    session.commit()
    client = _client(app, "admin_a")
    first = client.get("/api/v1/plans?limit=2").get_json()
    factories.PlanFactory(actor=world["admin_a"])
    session.commit()
    second = client.get(first["next"]).get_json()
    assert [p["id"] for p in second["items"]] == [made[1].id, made[0].id]
