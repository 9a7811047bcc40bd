"""The console's 工作台: task stages, deadlines with their state, the calendar warning."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine

from .. import factories
from ..conftest import login
from ..draw_world import populate

NOON = dt.datetime(2026, 11, 20, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _drawn(session, world, **values):
    registry = populate(session, world["a"], entities=30)
    plan = factories.PlanFactory(
        actor=world["admin_a"], code="PLAN-001", matters=[registry["matter"]], **values
    )
    factories.DrawFactory(actor=world["admin_a"], commitment__plan=plan)
    return plan


@time_machine.travel(NOON, tick=False)
def test_the_dashboard_shows_overdue_results_entry_and_the_publication_date(app, session, world):
    plan = _drawn(session, world, fieldwork_start="2026-10-12", fieldwork_end="2026-10-30")
    client = app.test_client()
    login(client, "admin_a")
    html = client.get("/console/").get_data(as_text=True)
    assert plan.code in html and "检查中" in html
    # 5 working days after Friday 2026-10-30 is 2026-11-06; 20 is 2026-11-27.
    assert "检查结果录入：2026-11-06" in html and "已逾期（逾期 10 个工作日）" in html
    assert (
        "检查结果公示（20个工作日内）：2026-11-27" in html
        and "即将到期（剩 5 个工作日）" not in html
    )
    assert "2027年的节假日与调休安排尚无数据" in html


@time_machine.travel(NOON, tick=False)
def test_another_department_does_not_see_the_task(app, session, world):
    plan = _drawn(session, world, fieldwork_start="2026-10-12", fieldwork_end="2026-10-30")
    client = app.test_client()
    login(client, "admin_b")
    html = client.get("/console/").get_data(as_text=True)
    assert plan.code not in html and "暂无进行中的抽查任务" in html


def test_the_sysadmin_sees_each_channels_backlog_and_its_oldest_message(app, session, world):
    from shuangsuiji.services.platform import outbox

    for _ in range(3):
        message = outbox.enqueue(session, channel="sms", recipient="13800000000", body="通知")
    message.created_at = dt.datetime(2026, 11, 2, 1, 30, tzinfo=dt.UTC)  # 09:30 Beijing time
    session.commit()
    client = app.test_client()
    login(client, "root")
    html = client.get("/console/").get_data(as_text=True)
    assert "发件箱积压" in html
    row = html[html.index('id="outbox-backlog"') :]
    row = row[row.index("短信") : row.index("</tr>", row.index("短信"))]
    assert "<td>3</td>" in row and "2026-11-02 09:30" in row
    other = app.test_client()
    login(other, "admin_a")
    assert "发件箱积压" not in other.get("/console/").get_data(as_text=True)
