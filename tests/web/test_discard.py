"""The edge commits every response below 400, so a view that catches an AppError and still
answers below 400 (a redirect with a flash, a 200 page showing the error) discards what the
failed service flushed (edge.discard). Each test makes the service flush a change and then
fail, and checks the change is gone while the page still says what went wrong."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from shuangsuiji.db import User
from shuangsuiji.errors import Conflict, Invalid
from shuangsuiji.services.registry import records as registry
from shuangsuiji.services.results import credit, results

from .. import results_world
from ..conftest import csrf_token, login

MARK = "已被丢弃的修改"


def _flush_then_fail(error):
    """A service that writes something, flushes, then refuses."""

    def service(session, **kwargs):
        user = session.scalar(select(User).where(User.username == "audit"))
        user.display_name = MARK
        session.flush()
        raise error

    return service


def _kept(session) -> bool:
    session.expire_all()
    return session.scalar(select(User.display_name).where(User.username == "audit")) == MARK


def _client(app, username="admin_a"):
    client = app.test_client()
    login(client, username)
    return client, csrf_token(client, "/console/tokens")


def test_a_refused_listing_decision_redirects_and_keeps_nothing(app, session, world, monkeypatch):
    session.commit()
    monkeypatch.setattr(credit, "decide", _flush_then_fail(Conflict("该记录已办理")))
    client, csrf = _client(app)
    response = client.post(
        "/console/abnormal-listings/1/list", data={"csrf_token": csrf, "reason": "x"}
    )
    assert response.status_code == 302
    assert not _kept(session)


def test_a_refused_account_link_redirects_and_keeps_nothing(app, session, world, monkeypatch):
    session.commit()
    monkeypatch.setattr(registry, "link_account", _flush_then_fail(Invalid("该账号不可关联")))
    client, csrf = _client(app)
    response = client.post(
        "/console/inspectors/1/account", data={"csrf_token": csrf, "user_id": "1"}
    )
    assert response.status_code == 302
    assert not _kept(session)


@pytest.fixture
def w(session, world):
    return results_world.drawn(session, world)


def test_a_refused_submission_keeps_the_draft_but_not_the_submission(
    app, session, world, w, monkeypatch
):
    session.commit()
    monkeypatch.setattr(results, "submit", _flush_then_fail(Invalid("尚未录入完整")))
    client, csrf = _client(app, "insp_a")
    form = {"csrf_token": csrf, "action": "submit", "checked_on": w["checked_on"].isoformat()}
    for m in w["matters"]:
        form |= {
            f"m{m.id}_codes": ["1"],
            f"m{m.id}_methods": ["field"],
            f"m{m.id}_measures": "none",
        }
    response = client.post(
        f"/console/draws/{w['draw'].id}/results/{w['row'].drawn.position}", data=form
    )
    assert response.status_code == 200
    assert "已保存，但尚不能提交审核" in response.get_data(as_text=True)
    assert not _kept(session)
    visit = results.get_visit(session, world["admin_a"], w["draw"].id, w["row"].drawn.position)
    assert visit.status == "draft" and set(visit.results) == {m.id for m in w["matters"]}


def test_a_refused_upload_keeps_the_draft_but_not_the_upload(app, session, world, w, monkeypatch):
    session.commit()
    monkeypatch.setattr(results, "add_attachment", _flush_then_fail(Invalid("文件类型不支持")))
    client, csrf = _client(app, "insp_a")
    form = {"csrf_token": csrf, "action": "save", "checked_on": w["checked_on"].isoformat()}
    form["file"] = (io.BytesIO(b"not a picture"), "x.png")
    response = client.post(
        f"/console/draws/{w['draw'].id}/results/{w['row'].drawn.position}",
        data=form,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "未上传" in response.get_data(as_text=True)
    assert not _kept(session)
    visit = results.get_visit(session, world["admin_a"], w["draw"].id, w["row"].drawn.position)
    assert visit.status == "draft" and visit.record.checked_on == w["checked_on"]
