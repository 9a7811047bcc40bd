"""Result entry as an inspector meets it: the draft state after 保存, errors that name the
fields in Chinese, the fieldwork window's warning, a future date refused, and 通过并公示 asking
for a confirmation (a data attribute read by static/js/site.js, no inline script)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest

from .. import results_world
from ..conftest import csrf_token, login


@pytest.fixture
def w(session, world):
    return results_world.drawn(session, world)


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client, csrf_token(client, "/console/tokens")


def _url(w, suffix=""):
    return f"/console/draws/{w['draw'].id}/results/{w['row'].drawn.position}{suffix}"


def _form(w, csrf, *, action="save", **extra):
    form = {"csrf_token": csrf, "action": action, "checked_on": w["checked_on"].isoformat()}
    for m in w["matters"]:
        form |= {
            f"m{m.id}_codes": ["1"],
            f"m{m.id}_methods": ["field"],
            f"m{m.id}_measures": "none",
        }
    return form | extra


def _status(html: str) -> str:
    return re.search(r'id="record-status">([^<]+)<', html).group(1)


def test_the_status_reads_draft_after_saving(app, session, w):
    session.commit()
    client, csrf = _client(app, "insp_a")
    assert _status(client.get(_url(w)).get_data(as_text=True)) == "未录入"
    response = client.post(_url(w), data=_form(w, csrf))
    assert response.status_code == 302
    html = client.get(_url(w)).get_data(as_text=True)
    assert _status(html) == "草稿" and "检查结果已保存为草稿" in html
    html = client.get("/console/my-tasks").get_data(as_text=True)
    card = html[html.index(f'data-uscc="{w["row"].drawn.uscc}"') :]
    assert ">草稿<" in card[: card.index("</article>")]


def test_errors_name_the_fields_in_chinese(app, session, w):
    session.commit()
    client, csrf = _client(app, "insp_a")
    second = w["matters"][1]
    form = _form(w, csrf, action="submit")
    for name in ("codes", "methods", "measures"):
        form.pop(f"m{second.id}_{name}")
    html = client.post(_url(w), data=form).get_data(as_text=True)
    assert "抽查事项“食品安全检查”：请录入“食品安全检查”的检查结果" in html
    form = _form(w, csrf, checked_on="2026-13-40")
    form["file"] = (io.BytesIO(b"not a picture"), "scan.txt")
    html = client.post(_url(w), data=form, content_type="multipart/form-data").get_data(
        as_text=True
    )
    assert "检查日期：日期格式应为 YYYY-MM-DD" in html
    html = client.post(
        _url(w),
        data=_form(w, csrf) | {"file": (io.BytesIO(b"not a picture"), "scan.txt")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "附件：只接受 JPEG、PNG 或 PDF" in html
    assert not re.search(r"(matter_\d+|file|checked_on)：", re.sub(r"<[^>]+>", "", html))


def test_a_date_outside_the_window_warns_and_a_future_date_is_refused(app, session, w):
    drawn_on = w["checked_on"]
    w["plan"].fieldwork_start = drawn_on + dt.timedelta(days=10)
    w["plan"].fieldwork_end = drawn_on + dt.timedelta(days=20)
    session.commit()
    client, csrf = _client(app, "insp_a")
    assert client.post(_url(w), data=_form(w, csrf)).status_code == 302  # kept
    html = client.get(_url(w)).get_data(as_text=True)
    start, end = (drawn_on + dt.timedelta(days=n) for n in (10, 20))
    assert (
        f'id="date-warning">检查日期 {drawn_on.isoformat()} 不在本任务的检查时间'
        f"（{start.isoformat()} 至 {end.isoformat()}）内，请核对" in html
    )
    assert f'data-start="{start.isoformat()}" data-end="{end.isoformat()}"' in html
    future = dt.date.today() + dt.timedelta(days=2)
    response = client.post(_url(w), data=_form(w, csrf, checked_on=future.isoformat()))
    assert response.status_code == 422
    assert "检查日期：检查日期不能晚于今天" in response.get_data(as_text=True)
    w["plan"].fieldwork_start = drawn_on - dt.timedelta(days=1)
    session.commit()
    assert 'id="date-warning"' not in client.get(_url(w)).get_data(as_text=True)


def test_approval_asks_for_a_confirmation_without_inline_script(app, session, w):
    session.commit()
    client, csrf = _client(app, "insp_a")
    assert client.post(_url(w), data=_form(w, csrf, action="submit")).status_code == 302
    admin, _ = _client(app, "admin_a")
    html = admin.get(_url(w)).get_data(as_text=True)
    button = re.search(r'<button[^>]*id="decision-approve"[^>]*>', html).group(0)
    assert 'data-confirm="确定通过并公示？' in button
    for other in ("return", "reject"):
        assert "data-confirm" not in re.search(
            rf'<button[^>]*id="decision-{other}"[^>]*>', html
        ).group(0)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    site_js = Path(app.static_folder) / "js" / "site.js"
    assert "event.submitter" in site_js.read_text(encoding="utf-8")
