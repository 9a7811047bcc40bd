"""GET /api/v1/public/draws/{id}/check: what a citizen's browser needs to check one firm against
a published draw (in the frozen 名录 or not; its group's threshold), and never the group."""

from __future__ import annotations

import pytest

from shuangsuiji.domain import srdp
from shuangsuiji.domain.uscc import make as make_uscc

from .test_plans_api import drawn_plan


@pytest.fixture
def registry(registry, session):
    session.commit()
    return registry


def _snapshot(draw):
    """{uscc: stratum} of the draw's entities.tsv."""
    lines = draw.commitment.entities_tsv.decode("ascii").splitlines()
    return {line.split("\t")[0]: line.split("\t")[1] for line in lines}


def _check(client, draw_id, uscc):
    return client.get(f"/api/v1/public/draws/{draw_id}/check", query_string={"uscc": uscc})


def test_drawn_and_not_drawn_firms_get_their_groups_threshold(client, session, world, registry):
    plan, draw = drawn_plan(session, world, publish_mode="immediate")
    snapshot = _snapshot(draw)
    thresholds = {s.code: s.threshold_ticket for s in draw.summary_doc.strata}
    drawn = {row["entity_id"] for row in draw.manifest_doc["sample"]}
    hasher = srdp.ticket_hasher(draw.seed)
    seen = {True: 0, False: 0}
    for uscc, stratum in snapshot.items():
        response = _check(client, draw.id, uscc.lower())  # typed in lower case
        assert response.status_code == 200
        doc = response.get_json()
        assert set(doc) == {"draw_id", "entity_id", "in_snapshot", "threshold_ticket"}
        assert doc["entity_id"] == uscc and doc["in_snapshot"] is True
        assert doc["threshold_ticket"] == thresholds[stratum]
        ticket = srdp.trim(srdp.ticket_number(hasher, uscc))
        is_drawn = doc["threshold_ticket"] is not None and ticket <= doc["threshold_ticket"]
        assert is_drawn == (uscc in drawn)
        seen[is_drawn] += 1
        assert stratum not in doc.values()  # the class is never named
    assert seen[True] and seen[False]


def test_a_firm_outside_the_snapshot(client, session, world, registry):
    plan, draw = drawn_plan(session, world, publish_mode="immediate")
    outsider = make_uscc("91999999000000001")
    assert outsider not in _snapshot(draw)
    doc = _check(client, draw.id, f"  {outsider} ").get_json()
    assert doc == {"draw_id": draw.id, "entity_id": outsider, "in_snapshot": False}


def test_unknown_draw_bad_code_and_unpublished_draw(client, session, world, registry):
    plan, draw = drawn_plan(session, world, fieldwork_end="2099-12-31")
    uscc = next(iter(_snapshot(draw)))
    missing = _check(client, draw.id + 1000, uscc)
    assert missing.status_code == 404 and missing.get_json()["message"] == "抽取结果不存在"
    bad = _check(client, draw.id, uscc[:-1] + ("0" if uscc[-1] != "0" else "1"))
    assert bad.status_code == 422 and "统一社会信用代码" in bad.get_json()["message"]
    assert client.get(f"/api/v1/public/draws/{draw.id}/check").status_code == 422
    hidden = _check(client, draw.id, uscc)
    assert hidden.status_code == 409 and "尚未公示" in hidden.get_json()["message"]
    assert "threshold_ticket" not in hidden.get_json()


def test_checks_are_rate_limited_like_the_searches(app, session, world, registry):
    plan, draw = drawn_plan(session, world, publish_mode="immediate")
    uscc = next(iter(_snapshot(draw)))
    app.config["PUBLIC_SEARCH_RATE_LIMIT"] = "3 per minute"
    client = app.test_client()
    codes = [_check(client, draw.id, uscc).status_code for _ in range(3)]
    codes.append(_check(client, draw.id + 1000, uscc).status_code)
    assert codes == [200, 200, 200, 429]
    # The searches share the allowance: a client cannot double it by switching.
    assert client.get("/api/v1/public/results", query_string={"q": "企业"}).status_code == 429
    other = _check(client, draw.id, uscc)
    assert other.status_code == 429
    fresh = app.test_client().get(
        f"/api/v1/public/draws/{draw.id}/check",
        query_string={"uscc": uscc},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert fresh.status_code == 200
