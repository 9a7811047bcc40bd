"""The demo's joint plan (联合抽查): the tax and ecology bureaus have inspectors and have
accepted, the plan is committed and drawn, and every slot of every team is staffed by an
inspector of the slot's bureau."""

from __future__ import annotations

from sqlalchemy import select

from shuangsuiji.cli import demo_data as demo
from shuangsuiji.cli import main
from shuangsuiji.db import Department, Inspector, Plan, PlanParticipation, User
from shuangsuiji.db.states import ParticipationStatus, PlanStatus
from shuangsuiji.services.plans import draws

from ..conftest import login


def _joint_plan(session) -> Plan:
    return session.scalar(select(Plan).where(Plan.code.like("LFJOINT-%")))


def test_the_demo_ships_a_joint_plan_accepted_committed_drawn_and_fully_staffed(app, session):
    result = app.test_cli_runner().invoke(main, ["demo", "load", "--small"])
    assert result.exit_code == 0, result.output
    assert "联合抽查任务" in result.output
    codes = {d.id: d.code for d in session.scalars(select(Department))}
    for code in ("LF-TAX", "LF-ENV"):
        department = next(i for i, c in codes.items() if c == code)
        assert session.scalar(select(Inspector).where(Inspector.department_id == department))
    plan = _joint_plan(session)
    assert plan.status == PlanStatus.DRAWN
    assert sorted(d.code for d in plan.participants) == ["LF-ENV", "LF-TAX"]
    answers = session.scalars(
        select(PlanParticipation).where(PlanParticipation.plan_id == plan.id)
    ).all()
    assert sorted(codes[a.department_id] for a in answers) == ["LF-ENV", "LF-TAX"]
    assert all(a.status == ParticipationStatus.ACCEPTED for a in answers)
    assert {m.department.code for m in plan.matters} == {"LF-SAMR", "LF-TAX", "LF-ENV"}

    draw = draws.current_draw(session, plan)
    summary = draw.summary_doc
    assert summary.drawn > 0 and summary.unstaffed == 0 and summary.slots == 3
    rows = draws.teams(session, draw, limit=summary.drawn)
    assert len(rows) == summary.drawn
    for row in rows:
        assert [m.slot for m in row.members] == [0, 1, 2]
        assert [codes[m.inspector.department_id] for m in row.members] == demo.JOINT_SLOTS

    # Each participant's demo inspector account is linked to its 执法人员 of the same name,
    # who is on a team (the plan picks the least loaded of the few), and finds the joint
    # task under 我的检查任务.
    for username in ("tax_sunli", "env_wuhao"):
        user = session.scalar(select(User).where(User.username == username))
        inspector = session.scalar(select(Inspector).where(Inspector.user_id == user.id))
        assert inspector.name == user.display_name
        assert inspector.department_id == user.department_id
        assert any(m.inspector.id == inspector.id for r in rows for m in r.members)
        client = app.test_client()
        login(client, username, demo.DEMO_STAFF_PASSWORD)
        assert plan.code in client.get("/console/my-tasks").get_data(as_text=True)
