"""GET /api/v1/statistics: the page's report over the API, from the aggregates."""

from __future__ import annotations

from shuangsuiji.services.accounts import tokens

from .. import results_world


def _bearer(session, user):
    _, secret = tokens.issue(session, actor=user, name="t", scope="read", days=30, max_days=365)
    return {"Authorization": f"Bearer {secret}"}


def test_the_report_with_levels_and_honest_estimates(client, session, world):
    w = results_world.drawn(session, world)
    results_world.enter(session, w, world["admin_a"], approve_as=world["sysadmin"])
    year = w["draw"].created_at.year
    root = _bearer(session, world["sysadmin"])
    province = world["province"].id
    body = client.get(f"/api/v1/statistics?year={year}&department_id={province}", headers=root)
    assert body.status_code == 200, body.get_json()
    data = body.get_json()
    assert data["total"]["published"] == 1 and data["total"]["drawn"] > 1
    levels = {lv["department_id"]: lv for lv in data["levels"]}
    assert levels[world["a"].id]["rates"]["published"] == 1 and world["b"].id in levels
    (industry,) = data["by_industry"]
    assert industry["sufficient"] is False and industry["low"] is None
    assert "样本不足" in industry["method"] and industry["problem_count"] <= industry["population"]
    assert {c["code"] for c in data["by_code"]} >= {"1"}


def test_scope_years_and_roles(client, session, world):
    results_world.drawn(session, world)
    admin_b = _bearer(session, world["admin_b"])
    assert (
        client.get(f"/api/v1/statistics?department_id={world['a'].id}", headers=admin_b).status_code
        == 404
    )
    assert (
        client.get("/api/v1/statistics?year=2026&to_year=2025", headers=admin_b).status_code == 422
    )
    assert client.get("/api/v1/statistics?year=1999", headers=admin_b).status_code == 422
    mine = client.get("/api/v1/statistics", headers=admin_b).get_json()
    assert mine["total"]["drawn"] == 0
    inspector = _bearer(session, world["insp_a"])
    assert client.get("/api/v1/statistics", headers=inspector).status_code == 403
