"""Plans and draws over the API: create, commit, draw (task), manifest, bundle; who may see what;
the public view never shows strata, regions or inspectors."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from shuangsuiji.domain import verify
from shuangsuiji.services.plans import draws, eligibility, plans
from shuangsuiji.worker import Worker

from .. import draw_world, factories
from ..conftest import csrf_token, login

FORBIDDEN_KEYS = {"strata", "stratum", "region", "region_code", "inspector_id", "inspectors"}


def _client(app, username="admin_a"):
    client = app.test_client()
    login(client, username)
    return client, {"X-CSRFToken": csrf_token(client, "/console/tokens")}


@pytest.fixture
def registry(registry, session):
    """The shared registry, committed: each API request runs in its own transaction."""
    session.commit()
    return registry


def drawn_plan(session, world, **overrides):
    """A plan of department A committed and drawn through the services, committed."""
    plan = {f"commitment__plan__{name}": value for name, value in overrides.items()}
    draw = factories.DrawFactory(actor=world["admin_a"], commitment__plan__code="PLAN-001", **plan)
    session.commit()
    return draw.plan, draw


def committed_plan(session, world):
    commitment = factories.CommitmentFactory(actor=world["admin_a"], plan__code="PLAN-001")
    session.commit()
    return commitment


def _draw_request(client, headers, plan_id):
    return client.post(
        f"/api/v1/plans/{plan_id}/draws", headers=headers, json={"randomness": draw_world.DICE}
    )


def test_a_plan_is_created_as_a_draft(app, registry):
    client, headers = _client(app)
    created = client.post("/api/v1/plans", headers=headers, json=draw_world.plan_values())
    assert created.status_code == 201, created.get_json()
    plan = created.get_json()
    assert (plan["status"], plan["slots"]) == ("draft", ["DEPT-A", "DEPT-A"])


def test_commit_freezes_the_inputs_and_the_plan(app, session, world, registry):
    plan = factories.PlanFactory(actor=world["admin_a"])
    session.commit()
    client, headers = _client(app)
    committed = client.post(f"/api/v1/plans/{plan.id}/commit", headers=headers)
    assert committed.status_code == 201, committed.get_json()
    commitment = committed.get_json()
    assert len(commitment["snapshot"]) == 64 and "entities.tsv" in commitment["sha256sums"]
    edit = client.patch(f"/api/v1/plans/{plan.id}", headers=headers, json={"title": "改"})
    assert edit.status_code == 409


def test_a_draw_is_queued_once(app, session, world, registry):
    plan = committed_plan(session, world).plan
    client, headers = _client(app)
    assert _draw_request(client, headers, plan.id).status_code == 202
    assert _draw_request(client, headers, plan.id).status_code == 409


def test_the_worker_draws_and_the_plan_lists_the_draw(app, db, session, world, registry):
    commitment = committed_plan(session, world)
    plan_id = commitment.plan_id
    client, headers = _client(app)
    task = _draw_request(client, headers, plan_id).get_json()
    Worker(db, app.config).run_one(task["id"])
    done = client.get(f"/api/v1/tasks/{task['id']}").get_json()
    assert done["status"] == "done", done
    draw_id = done["result"]["draw_id"]
    assert client.get(f"/api/v1/plans/{plan_id}").get_json()["current_draw_id"] == draw_id
    listed = client.get(f"/api/v1/plans/{plan_id}/draws").get_json()
    assert [d["id"] for d in listed] == [draw_id] and listed[0]["seed"] == done["result"]["seed"]
    manifest = client.get(f"/api/v1/draws/{draw_id}").get_json()
    assert manifest["snapshot_sha256"] == commitment.snapshot
    assert manifest["seed"] == done["result"]["seed"] and manifest["sample"]


def test_the_bundle_verifies_against_the_manifest(app, session, world, registry):
    _, draw = drawn_plan(session, world)
    client, _ = _client(app)
    manifest = client.get(f"/api/v1/draws/{draw.id}").get_json()
    response = client.get(f"/api/v1/draws/{draw.id}/bundle")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "PLAN-001" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    assert json.loads(files.pop("manifest.json")) == manifest
    assert verify.verify(files, manifest) == []


def test_a_drawn_plan_is_not_drawn_again(app, session, world, registry):
    plan, _ = drawn_plan(session, world)
    client, headers = _client(app)
    assert _draw_request(client, headers, plan.id).status_code == 409


def test_capacity_refusal_names_the_shortfall(app, registry):
    client, headers = _client(app)
    values = draw_world.plan_values(strata={c: {"ratio": "1"} for c in "ABCDX"}, workload_cap=1)
    plan = client.post("/api/v1/plans", headers=headers, json=values).get_json()
    response = client.post(f"/api/v1/plans/{plan['id']}/commit", headers=headers)
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"]["capacity"] and "DEPT-A" in body["errors"]["capacity"][0]
    assert client.get(f"/api/v1/plans/{plan['id']}").get_json()["status"] == "draft"


def test_bad_plan_input_is_structured(app, world):
    client, headers = _client(app)
    response = client.post(
        "/api/v1/plans",
        headers=headers,
        json=draw_world.plan_values(slots=["DEPT-A"], rounding="sideways"),
    )
    assert response.status_code == 422
    assert {"slots", "rounding"} <= set(response.get_json()["errors"])


def test_other_department_sees_nothing(app, session, world, registry):
    plan, draw = drawn_plan(session, world)
    other, headers = _client(app, "admin_b")
    for url in (
        f"/api/v1/plans/{plan.id}",
        f"/api/v1/plans/{plan.id}/draws",
        f"/api/v1/draws/{draw.id}",
        f"/api/v1/draws/{draw.id}/bundle",
        f"/api/v1/draws/{draw.id}/teams",
    ):
        assert other.get(url).status_code == 404, url
    assert other.post(f"/api/v1/plans/{plan.id}/close", headers=headers).status_code == 404
    assert other.get("/api/v1/plans").get_json()["items"] == []


def test_inspector_may_not_commit_or_read_the_manifest(app, session, world, registry):
    plan, draw = drawn_plan(session, world)
    client, headers = _client(app, "insp_a")
    response = client.post(f"/api/v1/plans/{plan.id}/commit", headers=headers, json={"reason": "x"})
    assert response.status_code == 403
    assert client.get(f"/api/v1/draws/{draw.id}").status_code == 403
    assert client.get(f"/api/v1/draws/{draw.id}/bundle").status_code == 403


def test_auditor_reads_the_manifest_of_any_department(app, session, world, registry):
    _, draw = drawn_plan(session, world)
    client, _ = _client(app, "audit")
    assert client.get(f"/api/v1/draws/{draw.id}").get_json()["seed"] == draw.seed
    assert client.get(f"/api/v1/draws/{draw.id}/bundle").status_code == 200


def _walk(value, path="$"):
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")
    else:
        yield path, value


def _assert_nothing_private(doc, registry):
    secrets = {i.name for i in registry["inspectors"]} | {i.cert_no for i in registry["inspectors"]}
    secrets |= {eligibility.inspector_key(i.id) for i in registry["inspectors"]}
    text = json.dumps(doc, ensure_ascii=False)
    for secret in secrets:
        assert secret not in text
    for path, item in _walk(doc):
        assert item not in FORBIDDEN_KEYS, path
        assert item not in draw_world.COUNTIES, path  # no region codes as values
        assert item not in ("A", "B", "C", "D", "X"), path  # no credit-risk class as a value


def test_public_views_hide_strata_regions_and_inspectors(client, session, world, registry):
    plan, draw = drawn_plan(session, world, publish_mode="immediate")
    doc = client.get(f"/api/v1/public/draws/{draw.id}").get_json()
    assert doc["published"] and doc["seed"] == draw.seed and doc["sample"]
    assert set(doc["sample"][0]) == {"entity_id", "name", "ticket"}
    _assert_nothing_private(doc, registry)
    listing = client.get("/api/v1/public/plans").get_json()["items"]
    assert listing[0]["commitments"][0]["draw_id"] == draw.id
    _assert_nothing_private(listing, registry)
    page = client.get(f"/public/draws/{draw.id}").get_data(as_text=True)
    for inspector in registry["inspectors"]:
        assert inspector.name not in page


def test_drawn_list_hidden_until_published(client, session, world, registry):
    plan, draw = drawn_plan(session, world, fieldwork_end="2099-12-31")
    doc = client.get(f"/api/v1/public/draws/{draw.id}").get_json()
    assert doc["published"] is False
    assert not {"sample", "seed", "seed_text", "randomness"} & set(doc)
    assert doc["sample_sha256"] == draw.sample_sha256
    page = client.get(f"/public/draws/{draw.id}").get_data(as_text=True)
    assert draw.seed not in page and "检查结束后公示" in page
    listing = client.get("/public/plans").get_data(as_text=True)
    assert plans.latest_commitment(session, plan).snapshot in listing

    plans.close(session, actor=world["admin_a"], plan_id=plan.id)
    session.commit()
    doc = client.get(f"/api/v1/public/draws/{draw.id}").get_json()
    assert doc["published"] and doc["seed"] == draw.seed
    names = {row["name"] for row in doc["sample"]}
    assert names and all(n.startswith("测试企业") for n in names)


def test_redraw_supersedes_and_the_old_draw_says_so(app, client, session, world, registry):
    plan, first = drawn_plan(session, world, publish_mode="immediate")
    admin, headers = _client(app)
    refused = admin.post(f"/api/v1/plans/{plan.id}/commit", headers=headers, json={})
    assert refused.status_code == 422 and "reason" in refused.get_json()["errors"]
    recommit = admin.post(
        f"/api/v1/plans/{plan.id}/commit", headers=headers, json={"reason": "名录导入有误"}
    )
    assert recommit.status_code == 201 and recommit.get_json()["srdp_id"] == "PLAN-001.r2"
    session.expire_all()
    second = draws.execute(
        session,
        actor=world["admin_a"],
        commitment_id=recommit.get_json()["id"],
        randomness=draw_world.DICE,
    )
    session.commit()
    old = client.get(f"/api/v1/public/draws/{first.id}").get_json()
    assert (old["superseded_by"], old["superseded_reason"]) == (second.id, "名录导入有误")
    page = client.get(f"/public/draws/{first.id}").get_data(as_text=True)
    assert "已被取代" in page and f"/public/draws/{second.id}" in page and "名录导入有误" in page


def test_teams_replacement_and_inspector_tasks(app, session, world, registry):
    plan, draw = drawn_plan(session, world)
    client, headers = _client(app)
    page = client.get(f"/api/v1/draws/{draw.id}/teams?limit=2").get_json()
    assert page["total"] == draws.count_drawn(session, draw) and len(page["items"]) == 2
    first = page["items"][0]
    assert len(first["members"]) == 2 and all(m["name"] for m in first["members"])
    withdrawn = first["members"][0]["inspector_id"]
    replaced = client.post(
        f"/api/v1/draws/{draw.id}/replacements",
        headers=headers,
        json={"position": 0, "slot": 0, "reason": "ILLNESS", "note": "住院"},
    )
    assert replaced.status_code == 201, replaced.get_json()
    assert replaced.get_json()["withdrawn_id"] == withdrawn
    manifest = client.get(f"/api/v1/draws/{draw.id}").get_json()
    assert manifest["replacements"][0]["reason"] == "ILLNESS"
    bundle = client.get(f"/api/v1/draws/{draw.id}/bundle").data
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    assert verify.verify(files, json.loads(files.pop("manifest.json"))) == []
    tasks = client.get(f"/api/v1/inspectors/{withdrawn}/tasks").get_json()["items"]
    assert all(t["team"]["position"] != 0 for t in tasks)
    newcomer = replaced.get_json()["inspector_id"]
    tasks = client.get(f"/api/v1/inspectors/{newcomer}/tasks").get_json()["items"]
    assert any(t["team"]["position"] == 0 and t["draw_id"] == draw.id for t in tasks)
