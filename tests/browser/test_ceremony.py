"""The draw ceremony in a real browser: a plan refused for lack of capacity, a feasible one
committed, dice digits and witnesses typed in, the draw run by the worker, the bundle downloaded."""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from sqlalchemy import select

from shuangsuiji.db import Department

from .. import draw_world
from .test_console import _login


@pytest.fixture(scope="module")
def registry(live_app):
    with live_app.extensions["shuangsuiji.db"].transaction() as session:
        department = session.scalar(select(Department).where(Department.code == "LF-SAMR"))
        draw_world.populate(session, department, entities=60, inspectors=6)


def _new_plan(page, base_url, code, *, workload_cap, preset=None):
    page.goto(f"{base_url}/console/plans")
    page.click("#plan-new")
    page.fill("input[name=code]", code)
    page.fill("input[name=title]", f"{code} 企业公示信息抽查")
    page.select_option("select[name=matter_ids]", index=0)
    if preset:
        page.select_option("select[name=preset]", preset)
        page.click("#apply-preset")
        page.wait_for_load_state()
    page.fill("input[name=workload_cap]", str(workload_cap))
    page.fill("input[name=fieldwork_start]", "2026-12-01")
    page.fill("input[name=fieldwork_end]", "2026-12-20")
    page.click("#plan-save")
    page.wait_for_selector("#plan-commit")
    page.click("#plan-commit")


def test_clerk_runs_a_draw_ceremony(page, base_url, registry, tmp_path):
    page.on("dialog", lambda dialog: dialog.accept())
    _login(page, base_url, "lf_admin")
    page.wait_for_selector("text=工作台")

    # Six inspectors with one entity each cannot staff two per drawn entity.
    _new_plan(page, base_url, "LF-TIGHT", workload_cap=1)
    page.wait_for_selector("#commit-error")
    assert "检查人员不足" in page.inner_text("#commit-error")
    assert re.search(r"LF-SAMR：需要 \d+ 人次，可用 6 人次", page.inner_text("#capacity-problems"))
    assert page.inner_text("#plan-status") == "草稿"

    _new_plan(page, base_url, "LF-OK", workload_cap=20, preset="yancheng")
    page.wait_for_selector("text=已承诺：LF-OK")
    assert page.inner_text("#plan-status") == "已承诺"
    assert "C 类：30%" in page.inner_text("#plan-settings")

    page.click("#ceremony-link")
    assert "至少 20 位" in page.inner_text("#ceremony-form")
    snapshot = page.inner_text("#snapshot")
    page.fill("#value_dice", "3141592653")
    assert page.inner_text(".digit-count .count") == "10"
    page.fill("#value_dice", "31415926535897932384")
    assert page.inner_text(".digit-count .count") == "20"
    page.fill("#witnesses_dice", "张三\n李四\n王五")
    page.click("#start-draw")

    page.wait_for_selector("#seed", timeout=30000)  # the worker ran it; the page reloaded
    seed = page.inner_text("#seed")
    assert re.fullmatch(r"[0-9a-f]{64}", seed)
    assert "张三、李四、王五" in page.inner_text("#randomness")
    # the projector shows what the public may see: no class, no per-class count, no team
    drawn = int(page.inner_text("#drawn-total"))
    assert drawn > 0
    assert len(page.query_selector_all("#drawn-list tbody tr")) == min(drawn, 50)
    projected = page.inner_text("main")
    assert not re.search(r"[ABCD] 类|未评级|门槛签号|检查员", projected)
    assert "dice" not in page.inner_text("#randomness")

    with page.expect_download() as download_info:
        page.click("#bundle-link")
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    with zipfile.ZipFile(saved) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        assert {"entities.tsv", "SHA256SUMS", "plan.json"} <= set(bundle.namelist())
    assert manifest["seed"] == seed and manifest["snapshot_sha256"] == snapshot
    assert len(manifest["sample"]) == drawn

    page.click("#draw-link")
    page.wait_for_selector("#replacements")
    strata = page.inner_text("#strata-result")  # the staff's draw page keeps the classes
    assert "C 类" in strata and "门槛签号" in strata
    assert "检查员" in page.inner_text("#teams")
    # the refused commit answered 422 on purpose; nothing else may fail
    assert [e for e in page.console_errors if "422" not in e] == []
