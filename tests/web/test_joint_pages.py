"""Console pages of a joint plan: the lead sees every team member, a participating department
only its own; the form offers the participants' matters."""

from __future__ import annotations

import re

from shuangsuiji.services.plans import draws, participation, plans

from .. import draw_world
from ..conftest import login


def test_a_joint_plans_departments_each_see_their_part(app, world, session):
    lead = draw_world.populate(session, world["a"])
    part = draw_world.populate(session, world["b"], entities=0, inspectors=6, cert_prefix="88")
    plan = plans.create(
        session,
        actor=world["admin_a"],
        department_id=world["a"].id,
        raw=draw_world.plan_values(
            slots=["DEPT-A", "DEPT-B"], matter_ids=[lead["matter"].id, part["matter"].id]
        ),
    )
    participation.decide(
        session, actor=world["admin_b"], plan_id=plan.id, department_id=world["b"].id, accept=True
    )
    commitment = plans.commit(
        session, actor=world["admin_a"], plan_id=plan.id, today=draw_world.TODAY
    )
    draw = draws.execute(
        session, actor=world["admin_a"], commitment_id=commitment.id, randomness=draw_world.DICE
    )
    session.commit()
    cert_a = [i.cert_no for i in lead["inspectors"]]
    cert_b = [i.cert_no for i in part["inspectors"]]

    client = app.test_client()
    login(client, "admin_b")
    assert f"/console/plans/{plan.id}" in client.get("/console/plans").get_data(as_text=True)
    page = client.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert "配合部门" in page and part["matter"].name in page
    assert 'id="plan-edit"' not in page  # the lead's to change
    html = client.get(f"/console/draws/{draw.id}").get_data(as_text=True)
    assert "（其他部门人员）" in html
    assert any(c in html for c in cert_b) and not any(c in html for c in cert_a)
    assert client.get(f"/console/draws/{draw.id}/bundle").status_code == 404
    api = client.get(f"/api/v1/plans/{plan.id}").get_json()
    assert api["participants"] == ["DEPT-B"]
    teams = client.get(f"/api/v1/draws/{draw.id}/teams").get_json()["items"]
    assert teams and all(
        t["members"][0]["hidden"] and t["members"][0]["inspector_id"] is None for t in teams
    )
    assert all(t["members"][1]["cert_no"] in cert_b for t in teams)
    assert client.get(f"/api/v1/draws/{draw.id}").status_code == 404  # the full manifest

    lead_client = app.test_client()
    login(lead_client, "admin_a")
    html = lead_client.get(f"/console/draws/{draw.id}").get_data(as_text=True)
    assert "（其他部门人员）" not in html
    assert any(c in html for c in cert_a) and any(c in html for c in cert_b)
    form = lead_client.get(f"/console/plans/{plan.id}/edit").get_data(as_text=True)
    assert re.search(rf'value="{part["matter"].id}" selected>[^<]*（', form)

    # The result entry page: B records B's matter; A's appears read-only to A only.
    page = client.get(f"/console/draws/{draw.id}/results/0").get_data(as_text=True)
    assert f'name="m{part["matter"].id}_codes"' in page
    assert f'id="matter-{lead["matter"].id}"' not in page
    page = lead_client.get(f"/console/draws/{draw.id}/results/0").get_data(as_text=True)
    assert f'name="m{lead["matter"].id}_codes"' in page
    assert f'name="m{part["matter"].id}_codes"' not in page and "录入。" in page
