"""Console and API of recurring plans: the form, activation, the batch table with a failure and
its reason, and department separation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from shuangsuiji.db import Draw, Plan
from shuangsuiji.scheduler import batch_jobs
from shuangsuiji.services.plans import draws, plans, settings

from ..conftest import csrf_token, login
from ..recur_world import TIMING, active_plan, beijing, recurring_values
from .test_plans_pages import _form

NEXT_YEAR = dt.date.today().year + 1  # activated with the real clock: a year still to come


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client, csrf_token(client, "/console/tokens")


def test_a_monthly_plan_without_a_year_is_refused_with_the_reason(app, world, registry, session):
    session.commit()
    client, csrf = _client(app, "admin_a")
    response = client.post("/console/plans/new", data=_form(csrf, recurrence="monthly"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-field="plan_year"' in html and "周期任务须填写计划年度" in html
    assert '<option value="monthly" selected>' in html  # nothing typed is lost


def test_the_form_creates_a_monthly_plan_drawn_from_the_hash_chain(app, world, registry, session):
    session.commit()
    client, csrf = _client(app, "admin_a")
    form = _form(
        csrf,
        recurrence="monthly",
        plan_year=str(NEXT_YEAR),
        matter_ids=[str(registry["matter"].id)],
    )
    response = client.post("/console/plans/new", data=form)  # dice ticked: not for a batch
    assert response.status_code == 302, response.get_data(as_text=True)
    plan = session.scalar(select(Plan).where(Plan.code == "LF-2026-11"))
    assert settings.config(plan)["randomness"] == settings.SERVER_ONLY
    html = client.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert 'id="plan-activate"' in html and 'id="plan-commit"' not in html
    assert html.count('class="batch-pending"') == 12

    response = client.post(f"/console/plans/{plan.id}/activate", data={"csrf_token": csrf})
    assert response.status_code == 302
    session.refresh(plan)
    assert plan.status == "active" and plan.chain_tip
    html = client.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert plan.chain_tip in html and 'id="ceremony-link"' not in html
    again = client.post(f"/console/plans/{plan.id}/activate", data={"csrf_token": csrf})
    assert again.status_code == 409 and "不能启用" in again.get_data(as_text=True)


def test_a_failed_batch_shows_its_reason_on_the_plan_page(app, db, world, registry, session):
    plan = active_plan(session, world["admin_a"], world["a"], registry["matter"], workload_cap=1)
    session.commit()
    batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 9, 30), timing=TIMING)
    client, _ = _client(app, "admin_a")
    html = client.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    row = html[html.index('id="batch-2027-01"') : html.index('id="batch-2027-02"')]
    assert "失败（将重试）" in row and "检查人员不足" in row and "第 1 次尝试" in row
    batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 10, 31), timing=TIMING)
    session.execute(Plan.__table__.update().values(workload_cap=10))
    session.commit()
    batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 11, 32), timing=TIMING)
    html = client.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    row = html[html.index('id="batch-2027-01"') : html.index('id="batch-2027-02"')]
    assert "已抽取" in row and "抽取 #" in row and "未纳入" not in row


def test_other_departments_neither_see_nor_activate(app, world, registry, session):
    plan = plans.create(
        session,
        actor=world["admin_a"],
        department_id=world["a"].id,
        raw=recurring_values(matter_ids=[registry["matter"].id]),
    )
    session.commit()
    client, csrf = _client(app, "admin_b")
    assert client.get(f"/console/plans/{plan.id}").status_code == 404
    response = client.post(f"/console/plans/{plan.id}/activate", data={"csrf_token": csrf})
    assert response.status_code == 404
    api = client.get(f"/api/v1/plans/{plan.id}/batches")
    assert api.status_code == 404


def test_the_api_activates_and_lists_batches(app, world, registry, session):
    session.commit()
    client, csrf = _client(app, "admin_a")
    headers = {"X-CSRFToken": csrf}
    created = client.post(
        "/api/v1/plans",
        json=recurring_values(
            recurrence="quarterly", year=NEXT_YEAR, matter_ids=[registry["matter"].id]
        ),
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    plan_id = created.get_json()["id"]
    assert created.get_json()["recurrence"] == "quarterly"
    activated = client.post(f"/api/v1/plans/{plan_id}/activate", headers=headers)
    assert activated.status_code == 200 and len(activated.get_json()["chain_tip"]) == 64
    listed = client.get(f"/api/v1/plans/{plan_id}/batches").get_json()
    assert [b["key"] for b in listed] == [f"{NEXT_YEAR}-Q{q}" for q in range(1, 5)]
    assert {b["status"] for b in listed} == {"pending"}
    commit = client.post(f"/api/v1/plans/{plan_id}/commit", json={}, headers=headers)
    assert commit.status_code == 409


def test_the_chain_tip_is_public_from_activation(app, world, registry, session):
    plan = active_plan(session, world["admin_a"], world["a"], registry["matter"])
    session.commit()
    html = app.test_client().get("/public/plans").get_data(as_text=True)
    assert plan.chain_tip in html and plan.chain_seed not in html


def test_a_batch_value_is_typed_in_on_the_plan_page(app, world, registry, session):
    randomness = [
        {"label": "server", "kind": "server"},
        {"label": "lottery", "kind": "text", "source": "福彩双色球"},
    ]
    plan = active_plan(
        session, world["admin_a"], world["a"], registry["matter"], randomness=randomness
    )
    session.commit()
    client, csrf = _client(app, "admin_a")
    html = client.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert html.count('class="form batch-value-form"') == 12 and "未录入" in html
    response = client.post(
        f"/console/plans/{plan.id}/batch-values",
        data={
            "csrf_token": csrf,
            "batch_key": "2027-03",
            "label": "lottery",
            "value": "01 02 03",
            "source": "第 2027025 期",
        },
    )
    assert response.status_code == 302
    html = client.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    row = html[html.index('id="batch-2027-03"') : html.index('id="batch-2027-04"')]
    assert "<code>01 02 03</code>（第 2027025 期）" in row
    bad = client.post(
        f"/console/plans/{plan.id}/batch-values",
        data={"csrf_token": csrf, "batch_key": "2027-13", "label": "lottery", "value": "1"},
    )
    assert bad.status_code == 422 and "批次不存在" in bad.get_data(as_text=True)


def test_the_api_takes_a_batch_value(app, world, registry, session):
    randomness = [
        {"label": "server", "kind": "server"},
        {"label": "lottery", "kind": "text"},
    ]
    plan = active_plan(
        session, world["admin_a"], world["a"], registry["matter"], randomness=randomness
    )
    session.commit()
    client, csrf = _client(app, "admin_a")
    url = f"/api/v1/plans/{plan.id}/batch-values"
    body = {"batch_key": "2027-02", "label": "lottery", "value": " 7 8 9 "}
    done = client.post(url, json=body, headers={"X-CSRFToken": csrf})
    assert done.status_code == 200 and done.get_json()["value"] == "7 8 9"
    bad = client.post(url, json=body | {"label": "nope"}, headers={"X-CSRFToken": csrf})
    assert bad.status_code == 422 and "label" in bad.get_json()["errors"]
    other, other_csrf = _client(app, "admin_b")
    assert other.post(url, json=body, headers={"X-CSRFToken": other_csrf}).status_code == 404


def test_a_batch_commitment_shows_its_share_of_the_year(app, db, world, registry, session):
    plan = active_plan(session, world["admin_a"], world["a"], registry["matter"])
    session.commit()
    batch_jobs.ensure_due(db, now=beijing(2027, 2, 1, 9, 30), timing=TIMING)
    client, _ = _client(app, "admin_a")
    html = client.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    # Class A: 8 entities in scope at 50% a year = 4; January drew ⌈4 / 12⌉ = 1.
    assert "批次 2027-02（剩余 11 批，含本批）" in html
    assert "A 类 全年应抽 4、此前已抽 1、本批 1" in html


def test_a_batch_draws_list_is_public_after_its_period(app, db, world, registry, session):
    plan = active_plan(session, world["admin_a"], world["a"], registry["matter"])
    session.commit()
    [outcome] = batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 9, 30), timing=TIMING)
    assert plan.publish_mode == "after_fieldwork"
    draw = session.get(Draw, outcome.draw_id)
    assert not draws.public_manifest(session, draw, dt.date(2027, 1, 31))["published"]
    assert draws.public_manifest(session, draw, dt.date(2027, 2, 1))["published"]
