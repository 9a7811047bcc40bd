"""The system administrator's working-day calendar page (/console/workdays)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select

from shuangsuiji.db import AuditEntry, WorkdayOverride
from shuangsuiji.services.platform import workdays

from ..conftest import csrf_token, login

LAST = workdays.CC_LAST_YEAR
TZ = ZoneInfo("Asia/Shanghai")


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client, csrf_token(client, "/console/tokens")


def _add(client, csrf, **fields):
    return client.post("/console/workdays", data={"csrf_token": csrf, **fields})


def test_the_page_renders_for_the_system_administrator(app, world):
    client, _ = _client(app, "root")
    response = client.get("/console/workdays")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "工作日历" in html and "暂无调整" in html


def test_a_department_administrator_is_refused(app, world):
    client, csrf = _client(app, "admin_a")
    assert client.get("/console/workdays").status_code == 403
    response = _add(client, csrf, date="2030-10-12", is_workday="1")
    assert response.status_code == 403
    assert "工作日历" not in client.get("/console/").get_data(as_text=True)


def _page_on(app, day: dt.datetime) -> str:
    with time_machine.travel(day, tick=False):  # sign in then too: sessions expire
        client, _ = _client(app, "root")
        return client.get("/console/workdays").get_data(as_text=True)


def test_next_year_without_chinese_calendar_data_is_warned_about(app, world):
    html = _page_on(app, dt.datetime(LAST, 12, 1, 10, tzinfo=TZ))
    assert f"{LAST + 1} 年的法定节假日及调休安排尚未收录，请在此补录" in html


def test_no_warning_while_next_year_is_covered(app, world):
    html = _page_on(app, dt.datetime(LAST - 1, 12, 1, 10, tzinfo=TZ))
    assert "工作日历" in html and "尚未收录" not in html


def test_adding_and_deleting_an_override_is_audited(app, world, session):
    client, csrf = _client(app, "root")
    response = _add(client, csrf, date="2030-10-12", is_workday="1", note="国庆节调休上班")
    assert response.status_code == 302
    html = client.get("/console/workdays").get_data(as_text=True)
    assert "2030-10-12" in html and "国庆节调休上班" in html
    override = session.scalar(select(WorkdayOverride))
    assert override.is_workday and override.created_by_id == world["sysadmin"].id
    assert workdays.load(session).is_workday(dt.date(2030, 10, 12))

    response = client.post(f"/console/workdays/{override.id}/delete", data={"csrf_token": csrf})
    assert response.status_code == 302
    assert session.scalar(select(WorkdayOverride)) is None
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.object_type == "workday_override")
        .order_by(AuditEntry.seq)
    ).all()
    assert actions == ["workday.add", "workday.delete"]


def test_a_duplicate_date_is_refused_with_a_clear_message(app, world, session):
    client, csrf = _client(app, "root")
    assert _add(client, csrf, date="2030-10-12", is_workday="1").status_code == 302
    response = _add(client, csrf, date="2030-10-12", is_workday="0")
    assert response.status_code == 409
    assert "2030-10-12 已有调整记录，如需修改请先删除原记录" in response.get_data(as_text=True)
    assert len(session.scalars(select(WorkdayOverride)).all()) == 1


def test_bad_input_is_refused_in_chinese(app, world):
    client, csrf = _client(app, "root")
    response = _add(client, csrf, date="2030-13-40")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "日期格式应为 YYYY-MM-DD" in html and "请选择上班或放假" in html


def test_a_delete_without_csrf_is_refused(app, world, session):
    client, csrf = _client(app, "root")
    _add(client, csrf, date="2030-10-12", is_workday="1")
    override = session.scalar(select(WorkdayOverride))
    assert client.post(f"/console/workdays/{override.id}/delete").status_code == 400
    assert session.scalar(select(WorkdayOverride)) is not None
