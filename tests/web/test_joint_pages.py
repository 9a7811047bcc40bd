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


# -- the lead's credit-risk classes: a participant sees the totals only -------------------------


def test_the_participant_sees_the_draw_s_totals_not_the_lead_s_classes(joint):
    draw, plan = joint["draw"], joint["plan"]
    summary = draw.summary_doc
    page = joint["part_client"].get(f"/console/draws/{draw.id}").get_data(as_text=True)
    assert 'id="draw-totals"' in page and f"{summary.eligible}</strong> 户" in page
    assert 'id="strata-result"' not in page and "分类 · 排名" not in page
    assert not re.search(r"[ABCD] 类", page)
    page = joint["part_client"].get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert "strata-counts" not in page and not re.search(r"[ABCD] 类", page)
    assert "纳入抽取的对象" in page  # the totals stay
    page = joint["part_client"].get(f"/console/plans/{plan.id}/ceremony").get_data(as_text=True)
    assert 'id="totals"' in page and not re.search(r"[ABCD] 类", page)

    lead = joint["lead_client"].get(f"/console/draws/{draw.id}").get_data(as_text=True)
    assert 'id="strata-result"' in lead and "分类 · 排名" in lead and "A 类" in lead
    lead = joint["lead_client"].get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert "strata-counts" in lead and "A 类" in lead


def test_the_participant_s_api_answers_totals_without_classes(joint):
    draw, plan = joint["draw"], joint["plan"]
    client = joint["part_client"]
    api = client.get(f"/api/v1/plans/{plan.id}").get_json()
    assert "strata" not in api
    (commitment,) = api["commitments"]
    assert "strata" not in commitment["summary"] and commitment["summary"]["eligible"] > 0
    (listed,) = client.get(f"/api/v1/plans/{plan.id}/draws").get_json()
    assert "strata" not in listed["summary"]
    assert listed["summary"]["drawn"] == draw.summary_doc.drawn
    assert listed["summary"]["eligible"] == draw.summary_doc.eligible
    items = client.get(f"/api/v1/draws/{draw.id}/teams").get_json()["items"]
    assert items and all("stratum" not in t and "rank" not in t for t in items)

    lead = joint["lead_client"]
    api = lead.get(f"/api/v1/plans/{plan.id}").get_json()
    assert api["strata"] and api["commitments"][0]["summary"]["strata"]
    assert lead.get(f"/api/v1/plans/{plan.id}/draws").get_json()[0]["summary"]["strata"]
    items = lead.get(f"/api/v1/draws/{draw.id}/teams").get_json()["items"]
    assert all(t["stratum"] in "ABCDX" and t["rank"] >= 1 for t in items)


# -- one rule for naming another department's teammates ----------------------------------------


@pytest.fixture
def member(app, session, world, joint):
    """B's inspector account linked to B's inspector on the first team; logged in."""
    from shuangsuiji.services.plans import draws

    row = draws.teams(session, joint["draw"], limit=1)[0]
    inspector = next(m.inspector for m in row.members if m.slot == 1)
    inspector.user_id = world["insp_b"].id
    lead = next(m.inspector for m in row.members if m.slot == 0)
    lead.name = "发起部门的甲"  # a name no inspector of B has
    session.commit()
    client = app.test_client()
    login(client, "insp_b")
    return {"client": client, "position": row.drawn.position, "lead": lead}


def test_a_team_member_sees_the_names_on_its_notice_and_task_list(joint, member):
    url = f"/console/draws/{joint['draw'].id}/notices/{member['position']}"
    page = member["client"].get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert member["lead"].name in html and member["lead"].cert_no in html
    assert "（其他部门人员）" not in html
    tasks = member["client"].get("/console/my-tasks").get_data(as_text=True)
    assert member["lead"].name in tasks and "（其他部门人员）" not in tasks
    assert url in tasks


def test_the_participant_s_administrator_sees_the_rule_alike_on_draw_page_and_notice(joint, member):
    """Not on the team: （其他部门人员） on the draw page, and no notice (it names them all)."""
    client, draw = joint["part_client"], joint["draw"]
    page = client.get(f"/console/draws/{draw.id}").get_data(as_text=True)
    assert "（其他部门人员）" in page and member["lead"].name not in page
    assert member["lead"].cert_no not in page
    assert f"/console/draws/{draw.id}/notices/" not in page
    assert 'id="print-all-notices"' not in page
    assert client.get(f"/console/draws/{draw.id}/notices/{member['position']}").status_code == 404
    assert client.get(f"/console/draws/{draw.id}/notices").status_code == 404
    items = client.get(f"/api/v1/draws/{draw.id}/teams").get_json()["items"]
    assert items and not any(t["whole"] for t in items)
    # The same administrator's view of its inspector's tasks follows the same rule.
    inspector_id = next(i.id for i in joint["part"]["inspectors"] if i.user_id is not None)
    tasks = client.get(f"/console/inspectors/{inspector_id}/tasks").get_data(as_text=True)
    assert "（其他部门人员）" in tasks and member["lead"].name not in tasks
    assert "/notices/" not in tasks


def test_the_lead_sees_every_name_and_every_notice(joint, member):
    client, draw = joint["lead_client"], joint["draw"]
    url = f"/console/draws/{draw.id}/notices/{member['position']}"
    assert url in client.get(f"/console/draws/{draw.id}").get_data(as_text=True)
    html = client.get(url).get_data(as_text=True)
    assert member["lead"].cert_no in html and "（其他部门人员）" not in html
    assert client.get(f"/console/draws/{draw.id}/notices").status_code == 200


def test_the_task_api_follows_the_same_rule(joint, member, session):
    inspector_id = next(i.id for i in joint["part"]["inspectors"] if i.user_id is not None)
    url = f"/api/v1/inspectors/{inspector_id}/tasks"
    (mine,) = [
        t
        for t in member["client"].get(url).get_json()["items"]
        if t["team"]["position"] == member["position"]
    ]
    assert mine["team"]["whole"] and not any(m["hidden"] for m in mine["team"]["members"])
    assert "stratum" not in mine["team"]  # the lead's classes, not the participant's
    items = joint["part_client"].get(url).get_json()["items"]
    assert items and not any(t["team"]["whole"] for t in items)
    assert all(t["team"]["members"][0]["hidden"] for t in items)
