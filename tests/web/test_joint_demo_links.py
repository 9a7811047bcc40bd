"""The demo's joint plan seen by each role: every link on its plan, ceremony, draw and task
pages answers 200 to whoever it is shown to, and each sees only the forms it may post.

Links are read from the page's <main> (the menus are another matter) and fetched with the
same client, one level deep."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from shuangsuiji.cli import demo_data as demo
from shuangsuiji.cli import main
from shuangsuiji.db import Department, Plan
from shuangsuiji.services.plans import draws

from ..conftest import csrf_token, login

HREF = re.compile(r'<a\b[^>]*\bhref="([^"#][^"]*)"')
FORM = re.compile(r'<form\b[^>]*\bmethod="post"[^>]*\baction="([^"]+)"', re.IGNORECASE)


def _main(page: str) -> str:
    start = page.index("<main")
    return page[start : page.index("</main>", start)]


def _links(page: str) -> set[str]:
    return {
        html.unescape(h) for h in HREF.findall(_main(page)) if h.startswith(("/console", "/api"))
    }


def _forms(page: str) -> set[str]:
    return {html.unescape(a) for a in FORM.findall(_main(page))}


def _crawl(client, start: list[str]) -> tuple[set[str], set[str]]:
    """Fetch the start pages and every link they show; returns the links and form actions."""
    links, forms = set(), set()
    for url in start:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        links |= _links(page)
        forms |= _forms(page)
    for url in sorted(links):
        assert client.get(url).status_code == 200, url
    return links, forms


@pytest.fixture
def demo_world(app, session):
    result = app.test_cli_runner().invoke(main, ["demo", "load", "--small"])
    assert result.exit_code == 0, result.output
    plan = session.scalar(select(Plan).where(Plan.code.like("LFJOINT-%")))
    draw = draws.current_draw(session, plan)
    tax = session.scalar(select(Department).where(Department.code == "LF-TAX"))
    return {"plan": plan, "draw": draw, "tax": tax}


def _client(app, username):
    client = app.test_client()
    assert login(client, username, demo.DEMO_STAFF_PASSWORD).status_code == 302
    return client


def test_every_link_shown_to_each_role_answers_and_only_its_own_forms(app, demo_world):
    plan, draw, tax = demo_world["plan"], demo_world["draw"], demo_world["tax"]
    plan_url, draw_url = f"/console/plans/{plan.id}", f"/console/draws/{draw.id}"
    ceremony = f"{plan_url}/ceremony"
    bundle, notices = f"{draw_url}/bundle", f"{draw_url}/notices"
    answer = f"{plan_url}/participations/{tax.id}"

    # The lead's administrator: everything, the bundle and every notice included.
    links, forms = _crawl(_client(app, "lf_admin"), [plan_url, ceremony, draw_url])
    assert {bundle, notices, draw_url, ceremony} <= links
    assert sum(1 for u in links if u.startswith(f"{notices}/")) == draw.summary_doc.drawn
    assert f"{plan_url}/close" in forms and f"{draw_url}/replace" in forms

    # The auditor reads every department's part, changes nothing.
    links, forms = _crawl(_client(app, "auditor"), [plan_url, ceremony, draw_url])
    assert bundle in links and notices in links
    assert forms == {f"{draw_url}/export"}

    # The participant's administrator: its part, its answer, no bundle, no notice.
    client = _client(app, "tax_admin")
    links, forms = _crawl(client, [plan_url, ceremony, draw_url])
    assert draw_url in links and bundle not in links
    assert not [u for u in links if u.startswith(notices)]
    assert forms == {answer, f"{draw_url}/export"}
    page = client.get(plan_url).get_data(as_text=True)
    assert "answer-accept" not in page and "改为拒绝参加" in page  # accepted: no second accept
    # Its export is its part too: no class, the others' members unnamed.
    exported = client.post(
        f"{draw_url}/export", data={"format": "csv", "csrf_token": csrf_token(client, draw_url)}
    )
    assert exported.status_code == 200
    text = exported.get_data().decode("utf-8-sig")
    assert "信用风险分类" not in text and "（其他部门人员）" in text

    # The participant's inspector: the plan (no draw page, no ceremony) and its own tasks,
    # with the notices of its teams.
    links, forms = _crawl(_client(app, "tax_sunli"), [plan_url, "/console/my-tasks"])
    assert draw_url not in links and ceremony not in links
    assert [u for u in links if u.startswith(f"{notices}/")]
    assert forms == set()

    # The lead's inspector: the plan page offers no draw page either.
    links, forms = _crawl(_client(app, "lf_zhangwei"), [plan_url, "/console/my-tasks"])
    assert draw_url not in links and ceremony not in links and forms == set()
