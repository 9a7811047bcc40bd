"""Console pages of a joint plan: the lead sees every team member, a participating department
only its own; the form offers the participants' matters."""

from __future__ import annotations

import re

import pytest

from shuangsuiji.services.plans import participation

from .. import draw_world, factories
from ..conftest import login


@pytest.fixture
def joint(app, world, session):
    """A joint plan of A with a slot of B, accepted by B, committed and drawn; a logged-in
    client for each department's administrator."""
    lead = draw_world.populate(session, world["a"])
    part = draw_world.populate(session, world["b"], entities=0, inspectors=6, cert_prefix="88")
    plan = factories.PlanFactory(
        actor=world["admin_a"],
        slots=["DEPT-A", "DEPT-B"],
        matters=[lead["matter"], part["matter"]],
    )
    participation.decide(
        session, actor=world["admin_b"], plan_id=plan.id, department_id=world["b"].id, accept=True
    )
    draw = factories.DrawFactory(actor=world["admin_a"], commitment__plan=plan)
    session.commit()
    clients = {}
    for name in ("admin_a", "admin_b"):
        clients[name] = app.test_client()
        login(clients[name], name)
    return {
        "plan": plan,
        "draw": draw,
        "lead": lead,
        "part": part,
        "cert_a": [i.cert_no for i in lead["inspectors"]],
        "cert_b": [i.cert_no for i in part["inspectors"]],
        "lead_client": clients["admin_a"],
        "part_client": clients["admin_b"],
    }


def test_the_participant_sees_the_plan_and_its_matters_but_cannot_edit(joint):
    client, plan = joint["part_client"], joint["plan"]
    assert f"/console/plans/{plan.id}" in client.get("/console/plans").get_data(as_text=True)
    page = client.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert "配合部门" in page and joint["part"]["matter"].name in page
    assert 'id="plan-edit"' not in page  # the lead's to change


def test_the_participants_draw_page_shows_only_its_own_inspectors(joint):
    client, draw = joint["part_client"], joint["draw"]
    html = client.get(f"/console/draws/{draw.id}").get_data(as_text=True)
    assert "（其他部门人员）" in html
    assert any(c in html for c in joint["cert_b"]) and not any(c in html for c in joint["cert_a"])
    assert client.get(f"/console/draws/{draw.id}/bundle").status_code == 404


def test_the_participants_api_hides_the_lead_s_members_and_the_manifest(joint):
    client, draw = joint["part_client"], joint["draw"]
    api = client.get(f"/api/v1/plans/{joint['plan'].id}").get_json()
    assert api["participants"] == ["DEPT-B"]
    teams = client.get(f"/api/v1/draws/{draw.id}/teams").get_json()["items"]
    assert teams and all(
        t["members"][0]["hidden"] and t["members"][0]["inspector_id"] is None for t in teams
    )
    assert all(t["members"][1]["cert_no"] in joint["cert_b"] for t in teams)
    assert client.get(f"/api/v1/draws/{draw.id}").status_code == 404  # the full manifest


def test_the_lead_sees_every_member_and_offers_the_participant_s_matter(joint):
    client, plan = joint["lead_client"], joint["plan"]
    html = client.get(f"/console/draws/{joint['draw'].id}").get_data(as_text=True)
    assert "（其他部门人员）" not in html
    assert any(c in html for c in joint["cert_a"]) and any(c in html for c in joint["cert_b"])
    form = client.get(f"/console/plans/{plan.id}/edit").get_data(as_text=True)
    assert re.search(rf'value="{joint["part"]["matter"].id}" selected>[^<]*（', form)


def test_each_department_enters_the_results_of_its_own_matter(joint):
    lead_matter, part_matter = joint["lead"]["matter"].id, joint["part"]["matter"].id
    url = f"/console/draws/{joint['draw'].id}/results/0"
    page = joint["part_client"].get(url).get_data(as_text=True)
    assert f'name="m{part_matter}_codes"' in page
    assert f'id="matter-{lead_matter}"' not in page
    page = joint["lead_client"].get(url).get_data(as_text=True)
    assert f'name="m{lead_matter}_codes"' in page
    assert f'name="m{part_matter}_codes"' not in page and "录入。" in page
