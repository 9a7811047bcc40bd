"""Console pages of plans and draws: forms, commitment, ceremony, results, notices, task lists."""

from __future__ import annotations

import io
import json
import re
import zipfile

from shuangsuiji.services.plans import draws, plans, settings
from shuangsuiji.worker import Worker

from .. import draw_world, factories
from ..conftest import csrf_token, login


def _plan(session, world, registry, **overrides):
    return factories.PlanFactory(
        actor=world["admin_a"], code="PLAN-001", matters=[registry["matter"]], **overrides
    )


def _drawn(session, world, registry, **overrides):
    plan = {f"commitment__plan__{name}": value for name, value in overrides.items()}
    draw = factories.DrawFactory(
        actor=world["admin_a"],
        commitment__plan__code="PLAN-001",
        commitment__plan__matters=[registry["matter"]],
        **plan,
    )
    return draw.plan, draw


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client, csrf_token(client, "/console/tokens")


def _form(csrf, **fields):
    form = {
        "csrf_token": csrf,
        "code": "LF-2026-11",
        "title": "2026 年第 11 批企业公示信息抽查",
        "scope_mode": "all",
        "rounding": "ceil",
        "slots": ["DEPT-A", "DEPT-A", ""],
        "region_rule": "none",
        "selection": "uniform",
        "workload_cap": "10",
        "cooldown_months": "0",
        "dice": "on",
        "dice_min_len": "20",
        "publish_mode": "after_fieldwork",
        "exclude_open": "on",
    }
    for code in settings.STRATA:
        form[f"strata_{code}_mode"] = "ratio"
        form[f"strata_{code}_value"] = "50"
    form.update(fields)
    return form


def test_list_and_new_form_render(app, world, registry, session):
    session.commit()
    client, _ = _client(app, "admin_a")
    assert "抽查任务" in client.get("/console/plans").get_data(as_text=True)
    html = client.get("/console/plans/new").get_data(as_text=True)
    assert 'name="strata_A_value"' in html
    assert registry["matter"].name in html
    # the plan's own department twice by default
    assert len(re.findall(r'<option value="DEPT-A" selected>', html)) == 2


def test_form_creates_a_draft_with_percent_ratios_and_matters(app, world, registry, session):
    session.commit()
    client, csrf = _client(app, "admin_a")
    form = _form(
        csrf,
        matter_ids=[str(registry["matter"].id)],
        strata_D_mode="count",
        strata_D_value="3",
        strata_A_k_min="1",
        scope_mode="targeted",
        region_prefixes="131002，131003",
        statuses=["存续", "迁出"],
        beacon="on",
        beacon_source="福彩双色球第 2026136 期",
    )
    response = client.post("/console/plans/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    plan = plans.list_visible(session, world["admin_a"])[0]
    cfg = settings.config(plan)
    assert cfg["strata"]["A"] == {"ratio": "0.5", "k_min": 1}
    assert cfg["strata"]["D"] == {"count": 3}
    assert cfg["matter_ids"] == [registry["matter"].id]
    assert cfg["scope"] == {"region_prefixes": ["131002", "131003"], "statuses": ["存续", "迁出"]}
    assert [s["kind"] for s in cfg["randomness"]] == ["digits", "text"]
    assert cfg["slots"] == ["DEPT-A", "DEPT-A"]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "LF-2026-11" in html and "50%" in html and "福彩双色球第 2026136 期" in html


def test_form_errors_are_shown_next_to_their_fields(app, world, session):
    session.commit()
    client, csrf = _client(app, "admin_a")
    form = _form(csrf, code="bad code!", slots=["DEPT-A", ""], strata_B_value="abc")
    response = client.post("/console/plans/new", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'data-field="code">任务编号须为', html)
    assert re.search(r'data-field="slots">每个检查对象至少需要两名', html)
    assert re.search(r'data-field="strata">B 类：比例须为数字', html)
    assert 'value="bad code!"' in html  # what was typed is kept


def test_preset_button_fills_the_strata_without_saving(app, world, session):
    session.commit()
    client, csrf = _client(app, "admin_a")
    form = _form(csrf, apply_preset="1", preset="yancheng")
    response = client.post("/console/plans/new", data=form)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="strata_C_value" value="30"' in html
    assert 'name="strata_D_value" value="80"' in html
    assert plans.list_visible(session, world["admin_a"]) == []


def test_refused_commit_lists_the_capacity_shortfall(app, world, registry, session):
    plan = _plan(session, world, registry, workload_cap=1)
    session.commit()
    client, csrf = _client(app, "admin_a")
    response = client.post(f"/console/plans/{plan.id}/commit", data={"csrf_token": csrf})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "检查人员不足" in html
    assert re.search(r'<ul id="capacity-problems"><li>DEPT-A：需要 \d+ 人次', html)
    session.refresh(plan)
    assert plan.status == "draft"


def test_commit_shows_the_commitment_and_its_summary(app, world, registry, session):
    plan = _plan(session, world, registry)
    session.commit()
    client, csrf = _client(app, "admin_a")
    response = client.post(f"/console/plans/{plan.id}/commit", data={"csrf_token": csrf})
    assert response.status_code == 302
    html = client.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    commitment = plans.latest_commitment(session, plan)
    summary = json.loads(commitment.summary)
    assert commitment.snapshot in html
    assert "已承诺" in html and "抽取仪式" in html
    assert f'<div class="num">{summary["eligible"]}</div>' in html
    assert "SHA256SUMS" in html and commitment.sha256sums.splitlines()[0] in html


def test_an_inspector_cannot_commit(app, world, registry, session):
    plan = _plan(session, world, registry)
    session.commit()
    client, csrf = _client(app, "insp_a")
    assert client.get(f"/console/plans/{plan.id}").status_code == 200
    response = client.post(f"/console/plans/{plan.id}/commit", data={"csrf_token": csrf})
    assert response.status_code == 403
    assert client.get(f"/console/plans/{plan.id}/edit").status_code == 403


def test_another_departments_plan_and_draw_are_not_found(app, world, registry, session):
    plan, draw = _drawn(session, world, registry)
    session.commit()
    client, csrf = _client(app, "admin_b")
    assert client.get(f"/console/plans/{plan.id}").status_code == 404
    assert client.get(f"/console/plans/{plan.id}/ceremony").status_code == 404
    assert client.get(f"/console/draws/{draw.id}").status_code == 404
    assert client.get(f"/console/draws/{draw.id}/bundle").status_code == 404
    assert client.get(f"/console/draws/{draw.id}/notices/0").status_code == 404
    response = client.post(f"/console/plans/{plan.id}/close", data={"csrf_token": csrf})
    assert response.status_code == 404
    assert plan.code not in client.get("/console/plans").get_data(as_text=True)


def test_a_script_in_the_title_is_escaped(app, world, registry, session):
    plan = _plan(session, world, registry, title="<script>alert(1)</script>抽查")
    session.commit()
    client, _ = _client(app, "admin_a")
    for url in ("/console/plans", f"/console/plans/{plan.id}", f"/console/plans/{plan.id}/edit"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;抽查" in html


def test_ceremony_queues_the_draw_and_shows_the_result(app, db, world, registry, session):
    plan = _plan(session, world, registry)
    plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=draw_world.TODAY)
    session.commit()
    client, csrf = _client(app, "admin_a")
    html = client.get(f"/console/plans/{plan.id}/ceremony").get_data(as_text=True)
    assert 'id="ceremony-form"' in html and "至少 20 位" in html
    response = client.post(
        f"/console/plans/{plan.id}/ceremony",
        data={
            "csrf_token": csrf,
            "value_dice": draw_world.DICE[0]["value"],
            "witnesses_dice": "张三\n李四\n",
        },
    )
    assert response.status_code == 302
    task_id = int(response.headers["Location"].rsplit("task=", 1)[1])
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="task"' in html  # progress, polled by site.js
    auditor, _ = _client(app, "audit")  # opened without ?task=: the running draw is shown
    html = auditor.get(f"/console/plans/{plan.id}/ceremony").get_data(as_text=True)
    assert 'id="task"' in html and 'id="ceremony-form"' not in html
    Worker(db, app.config).run_one(task_id)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    draw = draws.current_draw(session, plan)
    assert draw.seed in html
    assert "张三、李四" in html
    summary = json.loads(draw.summary)
    first = draws.teams(session, draw, limit=1)[0]
    assert first.entity.name in html and first.drawn.ticket in html
    assert f'id="drawn-total">{summary["drawn"]}<' in html
    # the projector shows what the public may see: no class, no per-class count, no team
    assert "data-stratum" not in html and not re.search(r"[ABCD] 类|未评级|门槛签号", html)
    assert first.members[0].inspector.name not in html
    assert ">dice<" not in html and "（dice）" not in html
    html = client.get(f"/console/draws/{draw.id}").get_data(as_text=True)
    for s in summary["strata"]:  # the draw page keeps them for the staff
        assert f'<tr data-stratum="{s["code"]}">' in html
    assert first.members[0].inspector.name in html


def test_ceremony_refuses_too_few_digits_and_missing_witnesses(app, world, registry, session):
    plan = _plan(session, world, registry)
    plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=draw_world.TODAY)
    session.commit()
    client, csrf = _client(app, "admin_a")
    url = f"/console/plans/{plan.id}/ceremony"
    response = client.post(
        url, data={"csrf_token": csrf, "value_dice": "12345", "witnesses_dice": "张三"}
    )
    assert response.status_code == 422
    assert "骰子数字不符合要求" in response.get_data(as_text=True)
    response = client.post(
        url, data={"csrf_token": csrf, "value_dice": "1" * 20, "witnesses_dice": ""}
    )
    assert response.status_code == 422
    assert "见证人" in response.get_data(as_text=True)


def _drawn_page(app, session, world, registry):
    _, draw = _drawn(session, world, registry, fieldwork_start="2026-12-01")
    session.commit()
    client, csrf = _client(app, "admin_a")
    return client, csrf, draw


def _replace(client, csrf, draw, reason, note):
    data = {"csrf_token": csrf, "position": "0", "slot": "0", "reason": reason, "note": note}
    return client.post(f"/console/draws/{draw.id}/replace", data=data)


def test_the_draw_page_shows_the_seed_the_bundle_and_replacement_forms(
    app, world, registry, session
):
    client, _, draw = _drawn_page(app, session, world, registry)
    html = client.get(f"/console/draws/{draw.id}").get_data(as_text=True)
    assert draw.seed in html and 'id="bundle-download"' in html
    assert 'name="reason"' in html  # a replacement form per staffed slot


def test_a_replacement_is_listed_with_its_reason(app, world, registry, session):
    client, csrf, draw = _drawn_page(app, session, world, registry)
    withdrawn = draws.teams(session, draw, limit=1)[0].members[0].inspector
    assert _replace(client, csrf, draw, "ILLNESS", "住院").status_code == 302
    html = client.get(f"/console/draws/{draw.id}").get_data(as_text=True)
    table = html.split('id="replacements"')[1]
    assert "因病：住院" in table and withdrawn.name in table


def test_a_replacement_with_an_unknown_reason_is_refused(app, world, registry, session):
    client, csrf, draw = _drawn_page(app, session, world, registry)
    response = _replace(client, csrf, draw, "BAD", "x")
    assert response.status_code == 422
    assert "替换原因无效" in response.get_data(as_text=True)


def test_the_bundle_downloads_from_the_draw_page(app, world, registry, session):
    client, _, draw = _drawn_page(app, session, world, registry)
    response = client.get(f"/console/draws/{draw.id}/bundle")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert {"manifest.json", "SHA256SUMS", "entities.tsv", "plan.json"} <= set(names)


def test_the_notice_names_the_team_and_matters_never_the_risk_class(app, world, registry, session):
    client, _, draw = _drawn_page(app, session, world, registry)
    html = client.get(f"/console/draws/{draw.id}/notices/0").get_data(as_text=True)
    team = draws.teams(session, draw, limit=1)[0]
    assert "检查通知书" in html and team.entity.name in html
    for member in team.members:
        assert member.inspector.cert_no in html
    assert registry["matter"].name in html and "2026-12-01" in html
    assert "营业执照" in html
    assert not re.search(r"[ABCD] 类|未评级|信用风险", html)  # never the risk class


def test_redraw_marks_the_old_draw_superseded(app, world, registry, session):
    plan, draw = _drawn(session, world, registry)
    session.commit()
    client, csrf = _client(app, "admin_a")
    response = client.post(
        f"/console/plans/{plan.id}/commit", data={"csrf_token": csrf, "reason": ""}
    )
    assert response.status_code == 422
    assert "重新抽取须填写理由" in response.get_data(as_text=True)
    response = client.post(
        f"/console/plans/{plan.id}/commit", data={"csrf_token": csrf, "reason": "名录导入有误"}
    )
    assert response.status_code == 302
    session.expire_all()  # the request changed the plan's status
    commitment = plans.latest_commitment(session, plan)
    new = draws.execute(
        session, actor=world["admin_a"], commitment_id=commitment.id, randomness=draw_world.DICE
    )
    session.commit()
    html = client.get(f"/console/draws/{draw.id}").get_data(as_text=True)
    assert 'id="superseded"' in html and "名录导入有误" in html
    assert 'name="reason"' not in html  # no replacement on a superseded draw
    html = client.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert "已被取代" in html and f"抽取 #{new.id}" in html


def test_inspector_task_lists(app, world, registry, session):
    plan, draw = _drawn(session, world, registry)
    team = draws.teams(session, draw, limit=1)[0]
    inspector = team.members[0].inspector
    inspector.user_id = world["insp_a"].id
    session.commit()

    client, _ = _client(app, "admin_a")
    html = client.get(f"/console/inspectors/{inspector.id}").get_data(as_text=True)
    assert f'href="/console/inspectors/{inspector.id}/tasks"' in html
    html = client.get(f"/console/inspectors/{inspector.id}/tasks").get_data(as_text=True)
    assert team.entity.name in html and plan.code in html

    client, _ = _client(app, "insp_a")
    html = client.get("/console/my-tasks").get_data(as_text=True)
    assert team.entity.name in html and "我的检查任务" in html
    assert client.get(f"/console/draws/{draw.id}/notices/{team.drawn.position}").status_code == 200
    assert client.get(f"/console/inspectors/{inspector.id}/tasks").status_code == 403

    client, _ = _client(app, "admin_b")
    assert "未关联执法人员" in client.get("/console/my-tasks").get_data(as_text=True)


def test_edit_form_saves_a_draft(app, world, registry, session):
    plan = _plan(session, world, registry)
    session.commit()
    client, csrf = _client(app, "admin_a")
    html = client.get(f"/console/plans/{plan.id}/edit").get_data(as_text=True)
    assert f'value="{plan.code}"' in html and 'name="strata_A_value" value="50"' in html
    form = _form(csrf, code=plan.code, workload_cap="7", title="改过的名称")
    response = client.post(f"/console/plans/{plan.id}/edit", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    session.refresh(plan)
    assert plan.workload_cap == 7 and plan.title == "改过的名称"


def test_teams_are_paginated(app, world, registry, session, monkeypatch):
    from shuangsuiji.web import plans as pages

    monkeypatch.setattr(pages, "PER_PAGE", 5)
    plan, draw = _drawn(session, world, registry)
    session.commit()
    client, _ = _client(app, "admin_a")
    for url, row in (
        (f"/console/draws/{draw.id}", '<ul class="members">'),
        (f"/console/plans/{plan.id}/ceremony", "<tr><td>"),  # the projector's firm list
    ):
        html = client.get(f"{url}?page=2").get_data(as_text=True)
        part = html[html.index('id="teams"' if "draws" in url else 'id="drawn-list"') :]
        assert part.count(row) == 5
        assert "第 2 / " in html and "page=1" in html and "page=3" in html
        sixth = draws.teams(session, draw, offset=5, limit=1)[0]
        assert sixth.drawn.ticket in html


def test_admin_links_an_inspector_account_and_the_inspector_sees_their_tasks(
    app, session, world, registry
):
    inspector = registry["inspectors"][0]
    admin = app.test_client()
    login(admin, "admin_a")
    page = admin.get(f"/console/inspectors/{inspector.id}").get_data(as_text=True)
    assert 'id="account-form"' in page and "insp_a" in page
    token = csrf_token(admin, f"/console/inspectors/{inspector.id}")
    response = admin.post(
        f"/console/inspectors/{inspector.id}/account",
        data={"user_id": str(world["insp_a"].id), "csrf_token": token},
    )
    assert response.status_code == 302
    session.expire_all()
    assert inspector.user_id == world["insp_a"].id
    own = app.test_client()
    login(own, "insp_a")
    assert "未关联" not in own.get("/console/my-tasks").get_data(as_text=True)
    assert (
        own.post(
            f"/console/inspectors/{inspector.id}/account",
            data={"user_id": "", "csrf_token": csrf_token(own, "/console/my-tasks")},
        ).status_code
        == 403
    )


def test_system_administrator_picks_a_department_then_creates_its_plan(
    app, world, registry, session
):
    session.commit()
    client, csrf = _client(app, "root")
    chooser = client.get("/console/plans/new").get_data(as_text=True)
    assert 'id="plan-departments"' in chooser and world["a"].name in chooser
    url = f"/console/plans/new?department_id={world['a'].id}"
    assert registry["matter"].name in client.get(url).get_data(as_text=True)
    response = client.post(url, data=_form(csrf, matter_ids=[str(registry["matter"].id)]))
    assert response.status_code == 302, response.get_data(as_text=True)
    plan = plans.list_visible(session, world["sysadmin"])[0]
    assert plan.department_id == world["a"].id and plan.created_by_id == world["sysadmin"].id
    assert client.get("/console/plans/new?department_id=99999").status_code == 404
