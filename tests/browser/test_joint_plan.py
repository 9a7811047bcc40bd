"""A joint plan from the demo in a real browser (issue 14): the lead department's
administrator finds it drawn, every team with an inspector of each bureau and every name; the
tax bureau's administrator sees its part, the totals only and no action it may not take; the
tax bureau's inspector finds the joint task and its notice naming the whole team. Each page
has no WCAG 2.1 A/AA violation (axe-core).

The module loads the whole demo (`demo load --small`), as scripts/serve does. Screenshots go to
tests/browser/artifacts/ (git-ignored) for review."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from shuangsuiji.cli import main
from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import Plan
from shuangsuiji.services.plans import draws

from . import axe
from .result_world import PHONE, shot
from .test_console import _login


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    """The app on its own SQLite file with the whole demo loaded (registries and plans)."""
    from alembic import command

    from shuangsuiji.app import create_app

    folder = tmp_path_factory.mktemp("joint")
    url = f"sqlite:///{folder / 'joint.db'}"
    command.upgrade(alembic_config(url), "head")
    app = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": url,
            "UPLOAD_DIR": str(folder / "uploads"),
            "EXPORT_DIR": str(folder / "exports"),
        }
    )
    result = app.test_cli_runner().invoke(main, ["demo", "load", "--small"])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def page(browser):
    """A page with axe-core installed (tests/browser/axe.py) and console errors collected."""
    context = browser.new_context(locale="zh-CN")
    axe.install(context)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    yield page
    context.close()


def _accessible(page, what: str) -> None:
    found = axe.violations(page)
    assert found == [], axe.report(what, found)


@pytest.fixture(scope="module")
def joint(live_app):
    with live_app.extensions["shuangsuiji.db"].transaction(write=False) as session:
        plan = session.scalar(select(Plan).where(Plan.code.like("LFJOINT-%")))
        draw = draws.current_draw(session, plan)
        rows = draws.teams(session, draw, limit=draw.summary_doc.drawn)
        return {
            "plan_id": plan.id,
            "code": plan.code,
            "draw_id": draw.id,
            "drawn": draw.summary_doc.drawn,
            "names": [[m.inspector.name for m in r.members] for r in rows],
        }


def _open_joint_plan(page, base_url, code):
    page.goto(f"{base_url}/console/plans")
    page.click(f"text={code}")
    page.wait_for_selector("#plan-status")


def test_the_lead_sees_the_joint_plan_drawn_with_every_name(page, base_url, joint):
    _login(page, base_url, "lf_admin")
    page.wait_for_selector("text=工作台")
    _open_joint_plan(page, base_url, joint["code"])
    assert page.inner_text("#plan-status") == "已抽取"
    assert "配合部门" in page.inner_text("#plan-departments")
    for code in ("LF-TAX", "LF-ENV"):
        assert "已确认参加" in page.inner_text(f"#participation-{code}")
    assert "A 类" in page.inner_text("#plan-settings")  # the lead's own classes
    _accessible(page, "lead's plan page")
    shot(page, "joint-lead-plan")

    page.click(f"#draws >> text=抽取 #{joint['draw_id']}")
    page.wait_for_selector("#teams")
    assert page.is_visible("#bundle-download") and page.is_visible("#print-all-notices")
    assert page.locator("#strata-result").count() == 1
    teams = page.inner_text("#teams")
    assert "（其他部门人员）" not in teams
    for names in joint["names"]:
        assert all(name in teams for name in names)
    assert page.locator("#teams >> text=检查通知书").count() == joint["drawn"]
    _accessible(page, "lead's draw page")
    shot(page, "joint-lead-draw")
    assert page.console_errors == []


def test_the_participant_sees_its_part_and_the_totals_only(page, base_url, joint):
    _login(page, base_url, "tax_admin")
    page.wait_for_selector("text=工作台")
    page.click("nav >> text=联合抽查邀请")
    assert joint["code"] in page.inner_text("main")
    _open_joint_plan(page, base_url, joint["code"])
    settings = page.inner_text("#plan-settings")
    assert "按发起部门的信用风险分类抽取" in settings
    assert not re.search(r"[ABCD] 类", page.inner_text("main"))
    assert page.locator("#plan-edit, #plan-commit, #plan-close, #redraw-form").count() == 0
    _accessible(page, "participant's plan page")
    shot(page, "joint-participant-plan")

    page.click(f"#draws >> text=抽取 #{joint['draw_id']}")
    page.wait_for_selector("#teams")
    main = page.inner_text("main")
    assert "下载核验数据包" not in main and page.locator("#bundle-download").count() == 0
    assert page.locator("#print-all-notices").count() == 0
    assert page.locator("#strata-result").count() == 0 and "分类 · 排名" not in main
    assert not re.search(r"[ABCD] 类", main)
    assert f"抽取 {joint['drawn']} 户" in page.inner_text("#draw-totals")
    teams = page.inner_text("#teams")
    assert teams.count("（其他部门人员）") == 2 * joint["drawn"]  # market and ecology slots
    assert all(names[1] in teams for names in joint["names"])  # its own inspectors
    assert not any(names[0] in teams for names in joint["names"])
    assert page.locator("#teams >> text=检查通知书").count() == 0
    assert page.locator("details.replace").count() == 0
    _accessible(page, "participant's draw page")
    shot(page, "joint-participant-draw")
    assert page.console_errors == []


def test_the_participant_s_inspector_finds_the_task_and_the_whole_team(page, base_url, joint):
    page.set_viewport_size(PHONE)
    _login(page, base_url, "tax_sunli")
    page.wait_for_selector("text=工作台")
    page.goto(f"{base_url}/console/my-tasks")
    card = page.locator(f"article.task-card:has-text('{joint['code']}')").first
    card.wait_for()
    assert "（其他部门人员）" not in card.inner_text()
    _accessible(page, "participant inspector's tasks")
    shot(page, "joint-participant-inspector-tasks")
    card.locator("text=检查通知书").click()
    page.wait_for_selector(".notice-team")
    team = page.inner_text(".notice-team")
    assert "孙丽" in team and "（其他部门人员）" not in team
    assert "廊坊市市场监督管理局" in team and "廊坊市生态环境局" in team
    assert "返回我的检查任务" in page.inner_text(".notice-tools")
    _accessible(page, "participant inspector's notice")
    shot(page, "joint-participant-inspector-notice")
    assert page.console_errors == []
