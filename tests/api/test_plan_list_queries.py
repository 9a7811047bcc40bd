"""GET /api/v1/plans reads a page's commitments, current draws, matters and participants in a
fixed number of statements, whatever the page's size (it ran several statements per plan)."""

from __future__ import annotations

from sqlalchemy import event

from .. import factories
from ..conftest import login


def _statements(app, client, url: str) -> tuple[int, dict]:
    engine = app.extensions["shuangsuiji.db"].engine
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.get_json()
    return len(seen), response.get_json()


def test_the_plan_list_costs_the_same_statements_for_two_plans_as_for_eight(
    app, session, world, registry
):
    for n in range(8):
        factories.DrawFactory(
            actor=world["admin_a"],
            commitment__plan__code=f"PLAN-Q{n}",
            commitment__plan__matters=[registry["matter"]],
        )
    session.flush()
    client = app.test_client()
    login(client, "admin_a")
    small, two = _statements(app, client, "/api/v1/plans?limit=2")
    large, eight = _statements(app, client, "/api/v1/plans?limit=8")
    assert len(two["items"]) == 2 and len(eight["items"]) == 8
    assert large == small
    newest = eight["items"][0]
    assert newest["current_draw_id"] is not None
    assert [c["seq"] for c in newest["commitments"]] == [1]
    assert newest["matter_ids"] == [registry["matter"].id]
