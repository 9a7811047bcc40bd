"""Plain words on pages: no internal codes ("dice", department codes in the team slots), short
help texts a keyboard reaches, and the public draw page that puts the firms first."""

from __future__ import annotations

import re

from shuangsuiji.services.plans import settings

from .. import factories
from ..conftest import login


def _drawn(session, world, registry, **plan):
    values = {f"commitment__plan__{k}": v for k, v in plan.items()}
    draw = factories.DrawFactory(
        actor=world["admin_a"],
        commitment__plan__code="PLAN-001",
        commitment__plan__matters=[registry["matter"]],
        **values,
    )
    session.commit()
    return draw


def _admin(app):
    client = app.test_client()
    login(client, "admin_a")
    return client


def test_source_names_are_plain():
    assert settings.source_name({"label": "dice", "kind": "digits"}) == "现场掷骰"
    assert settings.source_name({"label": "server", "kind": "server"}) == "服务器密值"
    assert settings.source_name({"label": "beacon", "kind": "text"}) == "公开数值"
    assert settings.source_name({"label": "ssq", "kind": "text"}) == "公开数值（ssq）"


def test_slots_are_summed_by_department_name():
    names = {"LF-SAMR": "廊坊市市场监督管理局", "LF-TAX": "国家税务总局廊坊市税务局"}
    assert settings.slot_summary(["LF-SAMR", "LF-SAMR"], names) == [("廊坊市市场监督管理局", 2)]
    assert settings.slot_summary(["LF-SAMR", "LF-TAX", "*"], names) == [
        ("廊坊市市场监督管理局", 1),
        ("国家税务总局廊坊市税务局", 1),
        ("任意部门", 1),
    ]


def test_the_plan_page_names_departments_and_sources_not_codes(app, world, registry, session):
    draw = _drawn(session, world, registry)
    html = _admin(app).get(f"/console/plans/{draw.plan_id}").get_data(as_text=True)
    team = re.search(r"<th>检查组</th><td>([^<]+)", html).group(1)
    assert f"每组 2 人：{world['a'].name} 2 人" in team
    assert world["a"].code not in team
    sources = re.search(r"<th>随机源</th><td>([^<]+)", html).group(1)
    assert "现场掷骰" in sources and "dice" not in sources


def _help(html: str, id_: str) -> str:
    match = re.search(
        rf'<details class="help" id="{id_}"><summary>.*?<span class="visually-hidden">'
        r"(什么是[^<]+？)</span></summary><span class=\"help-text\">([^<]+)</span></details>",
        html,
    )
    assert match, f"no help text {id_}"
    return match.group(1) + match.group(2)


def test_help_texts_for_threshold_snapshot_and_seed(app, world, registry, session):
    draw = _drawn(session, world, registry)
    client = _admin(app)
    html = client.get(f"/console/draws/{draw.id}").get_data(as_text=True)
    assert "门槛签号是该分类中最后一个被抽中对象的号码" in _help(html, "help-threshold")
    assert "快照摘要是" in _help(html, "help-snapshot")
    assert "什么是随机种子？" in _help(html, "help-seed")
    assert not re.search(r'title="[^"]*门槛', html)  # never a title attribute alone
    ceremony = client.get(f"/console/plans/{draw.plan_id}/ceremony").get_data(as_text=True)
    assert "快照摘要是" in _help(ceremony, "help-snapshot")
    public = app.test_client().get(f"/public/draws/{draw.id}").get_data(as_text=True)
    assert "快照摘要是" in _help(public, "help-snapshot")


def test_the_public_draw_page_puts_the_summary_and_firms_before_the_hashes(
    app, world, registry, session
):
    draw = _drawn(session, world, registry, publish_mode="immediate")
    html = app.test_client().get(f"/public/draws/{draw.id}").get_data(as_text=True)
    summary = html.index('id="summary"')
    sample = html.index('id="sample"')
    folded = html.index('<details class="verification" id="verification">')
    assert summary < sample < folded
    # every hash and the seed are inside the folded verification data
    for value in (draw.seed, draw.sample_sha256, draw.commitment.snapshot):
        assert html.index(value) > folded
    sentence = re.sub(r"<[^>]+>", "", html[summary:sample])
    assert re.search(r"从 \d+ 户检查对象中随机抽取了 \d+ 户进行检查", sentence)
    doc = app.test_client().get(f"/api/v1/public/draws/{draw.id}").get_json()
    for firm in doc["sample"]:
        assert summary < html.index(firm["entity_id"]) < folded
    assert 'data-label="名称"' in html  # a card per firm on a phone
    assert ">dice<" not in html.replace("<code>dice</code>", "")


def test_the_unpublished_public_draw_page_says_when_the_list_comes(app, world, registry, session):
    draw = _drawn(session, world, registry, fieldwork_end="2099-12-31")
    html = app.test_client().get(f"/public/draws/{draw.id}").get_data(as_text=True)
    assert 'id="sample"' not in html and "检查结束后公示" in html
    assert html.index("检查结束后公示") < html.index('id="verification"')


def test_the_entity_form_shows_workflow_fields_read_only_and_names_beside_codes(
    app, world, session
):
    entity = factories.EntityFactory(
        department=world["a"],
        region_code="131024",
        industry_code="6291",
        risk_class="C",
        abnormal_listed=True,
    )
    session.commit()
    client = _admin(app)
    html = client.get(f"/console/entities/{entity.id}").get_data(as_text=True)
    for name in ("abnormal_listed", "risk_class", "risk_class_month"):
        assert f'name="{name}"' not in html  # no input to type into
    flag = re.search(r'id="field-abnormal_listed">(.*?)</div>', html, re.S).group(1)
    assert "已列入" in flag and "列入、移出流程" in flag
    risk = re.search(r'id="field-risk_class">(.*?)</div>', html, re.S).group(1)
    assert "C 类" in risk and "信用风险分类导入" in risk
    status = re.search(r'<select name="status"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r"<option[^>]*>([^<]+)</option>", status) == [
        "存续",
        "注销",
        "吊销",
        "撤销",
        "迁出",
    ]
    assert 'id="name-region_code">香河县<' in html
    assert 'id="name-industry_code">小吃服务<' in html
    # the list shows the names too
    listing = client.get("/console/entities").get_data(as_text=True)
    assert '131024 <span class="code-name">香河县</span>' in listing
    assert '6291 <span class="code-name">小吃服务</span>' in listing
    # saving the form keeps the flag and the class (they are not sent)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post(
        f"/console/entities/{entity.id}",
        data={"csrf_token": token, "name": "香河县某某小吃店", "status": "注销"},
    )
    assert response.status_code == 302
    session.refresh(entity)
    assert (entity.status, entity.risk_class, entity.abnormal_listed) == ("注销", "C", True)


def test_a_typed_abnormal_flag_is_refused_on_the_form(app, world, session):
    entity = factories.EntityFactory(department=world["a"], risk_class="A")
    session.commit()
    client = _admin(app)
    html = client.get(f"/console/entities/{entity.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post(
        f"/console/entities/{entity.id}",
        data={"csrf_token": token, "abnormal_listed": "是", "risk_class": "D"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "经营异常名录标记和信用风险分类不能在此修改" in page
    assert "经营异常名录：只能通过经营异常名录的列入、移出流程变更" in page
    session.refresh(entity)
    assert (entity.abnormal_listed, entity.risk_class) == (False, "A")


def test_credit_event_sources_read_as_words():
    from shuangsuiji.services.results import credit

    assert credit.source_label("inspection:6") == "检查结果记录 #6"
    assert credit.source_label("listing:3") == "经营异常名录记录 #3"
    assert credit.source_label("other") == "other"


def test_no_help_text_sits_inside_a_paragraph(app, world, registry, session):
    """A <details> inside <p> ends the paragraph in every browser: the help would jump to a
    line of its own. No page puts one there."""
    draw = _drawn(session, world, registry, publish_mode="immediate")
    client = _admin(app)
    pages = [
        client.get(f"/console/draws/{draw.id}"),
        client.get(f"/console/plans/{draw.plan_id}"),
        client.get(f"/console/plans/{draw.plan_id}/ceremony"),
        app.test_client().get(f"/public/draws/{draw.id}"),
    ]
    for response in pages:
        html = response.get_data(as_text=True)
        for paragraph in re.findall(r"<p[ >].*?</p>", html, re.S):
            assert '<details class="help"' not in paragraph, paragraph[:200]


def test_region_codes_carry_their_names(app, world, session):
    from shuangsuiji.web import region_label

    assert region_label("131024") == "131024 香河县"
    assert region_label("1310") == "1310 廊坊市"
    assert region_label("999999") == "999999" and region_label(None) == ""
    session.commit()
    client = app.test_client()
    login(client, "root")
    html = client.get("/console/departments").get_data(as_text=True)
    assert "130000 河北省" in html  # the province of the test world


def test_a_targeted_plan_names_its_regions(app, world, registry, session):
    draw = _drawn(session, world, registry, scope={"region_prefixes": ["131024"]})
    html = _admin(app).get(f"/console/plans/{draw.plan_id}").get_data(as_text=True)
    assert "区划 131024 香河县" in html
