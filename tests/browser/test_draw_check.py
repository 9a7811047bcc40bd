"""The browser-side check of a draw (web/static/js/draw-check.js) in Chromium: against both
SRDP-1 test vectors, and on the public draw page at 390 px for a drawn firm, a firm that was not
drawn, a firm outside the snapshot and a tampered seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from shuangsuiji.db import Department, Draw, User
from shuangsuiji.domain import srdp
from shuangsuiji.domain.uscc import make as make_uscc

from .. import draw_world, factories
from . import axe
from .result_world import PHONE, shot

SCRIPT = Path(__file__).resolve().parents[2] / "shuangsuiji/web/static/js/draw-check.js"
VECTORS = Path(__file__).resolve().parents[1] / "domain/vectors"
ORIGIN = "https://srdp-vectors.test"  # a secure context for WebCrypto, served by the test


@pytest.fixture
def bare_page(page):
    """An empty page of a secure origin with draw-check.js loaded and nothing else."""
    html = f'<!doctype html><html><head><script src="{ORIGIN}/draw-check.js"></script></head>'
    page.route(f"{ORIGIN}/", lambda route: route.fulfill(body=html, content_type="text/html"))
    page.route(
        f"{ORIGIN}/draw-check.js",
        lambda route: route.fulfill(path=str(SCRIPT), content_type="text/javascript"),
    )
    page.goto(f"{ORIGIN}/")
    return page


COMPUTE = """async ([planId, snapshot, randomness, ids]) => {
  const text = SRDPCheck.seedText(planId, snapshot, randomness);
  const seed = await SRDPCheck.seedOf(text);
  const tickets = {};
  for (const id of ids) { tickets[id] = await SRDPCheck.fullTicket(seed, id); }
  const trimmed = {};
  for (const id of ids) { trimmed[id] = SRDPCheck.trim(tickets[id]); }
  return {text, seed, tickets, trimmed};
}"""


@pytest.mark.parametrize("vector", ["v1-demo", "v2-joint-repair"])
def test_the_script_reproduces_the_vectors(bare_page, vector):
    expected = json.loads((VECTORS / vector / "expected.json").read_text())
    lines = (VECTORS / vector / "entities.tsv").read_text().splitlines()
    stratum = {line.split("\t")[0]: line.split("\t")[1] for line in lines}
    randomness = [{"label": r["label"], "value": r["value"]} for r in expected["randomness"]]
    out = bare_page.evaluate(
        COMPUTE, [expected["plan_id"], expected["snapshot_sha256"], randomness, list(stratum)]
    )
    assert out["text"] == expected["seed_text"]
    assert out["seed"] == expected["seed"]
    hasher = srdp.ticket_hasher(expected["seed"])
    for entity_id in stratum:
        assert out["tickets"][entity_id] == srdp.ticket_number(hasher, entity_id)
    for row in expected["sample"]:
        assert out["trimmed"][row["entity_id"]] == row["ticket"]
    # Drawn exactly when the ticket is not above the group's threshold (SRDP-1 §5.3).
    thresholds = {s["code"]: s["threshold_ticket"] for s in expected["strata"]}
    drawn = {row["entity_id"] for row in expected["sample"]}
    verdicts = bare_page.evaluate(
        "([trimmed, limits]) => Object.fromEntries(Object.keys(trimmed).map("
        "id => [id, SRDPCheck.isDrawn(trimmed[id], limits[id])]))",
        [out["trimmed"], {e: thresholds[s] for e, s in stratum.items()}],
    )
    assert {e for e, yes in verdicts.items() if yes} == drawn
    assert drawn != set(stratum)  # both outcomes are exercised


def test_trim_skips_a_leading_run_of_nines(bare_page):
    ticket = "0.99912345678901234567890"
    assert bare_page.evaluate("t => SRDPCheck.trim(t, 18)", ticket) == srdp.trim(ticket, 18)


@pytest.fixture(scope="module")
def published(live_app):
    """A draw of 廊坊市场监管局 published at once: its snapshot, drawn firms and one that was
    eligible but not drawn."""
    database = live_app.extensions["shuangsuiji.db"]
    with database.transaction() as session, factories.bound(session):
        department = session.scalar(select(Department).where(Department.code == "LF-SAMR"))
        admin = session.scalar(select(User).where(User.username == "lf_admin"))
        draw_world.populate(session, department, entities=24, inspectors=6, cert_prefix="77")
        draw = factories.DrawFactory(
            actor=admin,
            commitment__plan__code="LF-CHECK",
            commitment__plan__publish_mode="immediate",
        )
        session.flush()
        draw = session.get(Draw, draw.id)
        lines = draw.commitment.entities_tsv.decode("ascii").splitlines()
        snapshot = [line.split("\t")[0] for line in lines]
        drawn = [row["entity_id"] for row in draw.manifest_doc["sample"]]
        return {
            "draw_id": draw.id,
            "drawn": drawn,
            "tickets": {row["entity_id"]: row["ticket"] for row in draw.manifest_doc["sample"]},
            "not_drawn": next(e for e in snapshot if e not in drawn),
            "outsider": make_uscc("91999999000000002"),
        }


@pytest.fixture
def phone(browser):
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    axe.install(context)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    yield page
    context.close()


def _check(page, uscc) -> str:
    page.fill("#check-uscc", uscc)
    page.click("#self-check button[type=submit]")
    page.wait_for_selector("#self-check-result[data-outcome='ok'], [data-outcome='fail']")
    return page.inner_text("#self-check-result")


def test_a_citizen_checks_firms_on_a_phone(phone, base_url, published):
    phone.goto(f"{base_url}/public/draws/{published['draw_id']}")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    drawn = published["drawn"][0]
    text = _check(phone, drawn.lower())
    assert "种子核验一致" in text and "该主体被抽中" in text
    assert published["tickets"][drawn] in text and "门槛签号" in text
    assert "分类" not in text and "信用风险" not in text  # the group is never named
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "public-draw-check-drawn-390")
    found = axe.violations(phone)
    assert found == [], axe.report(f"/public/draws/{published['draw_id']} (checked)", found)

    text = _check(phone, published["not_drawn"])
    assert "该主体的签号高于其所在组的门槛签号" in text and "该主体未被抽中" in text
    shot(phone, "public-draw-check-not-drawn-390")

    text = _check(phone, published["outsider"])
    assert "不在本次抽取冻结的检查对象名录中" in text
    assert phone.get_attribute("#self-check-result", "data-outcome") == "ok"
    assert phone.console_errors == []


def test_a_tampered_seed_fails_the_check(phone, base_url, published):
    phone.goto(f"{base_url}/public/draws/{published['draw_id']}")
    phone.evaluate(
        "() => { const el = document.getElementById('published-seed');"
        " el.textContent = el.textContent.replace(/^./, c => c === '0' ? '1' : '0'); }"
    )
    phone.fill("#check-uscc", published["drawn"][0])
    phone.click("#self-check button[type=submit]")
    phone.wait_for_selector("#self-check-result[data-outcome='fail']")
    text = phone.inner_text("#self-check-result")
    assert "核验失败" in text and "不一致" in text and "被抽中" not in text
    shot(phone, "public-draw-check-tampered-390")
    found = axe.violations(phone)
    assert found == [], axe.report(f"/public/draws/{published['draw_id']} (tampered)", found)
