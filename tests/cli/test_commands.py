"""The `shuangsuiji` command line."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select, text

from shuangsuiji.cli import demo_data as demo
from shuangsuiji.cli import main
from shuangsuiji.db import (
    Department,
    Draw,
    Entity,
    InspectionRecord,
    Inspector,
    Matter,
    MatterChecklist,
    Plan,
    User,
)
from shuangsuiji.db.states import Role

from ..conftest import login


def _run(app, *args):
    return app.test_cli_runner().invoke(main, list(args))


def test_demo_load_fills_an_empty_database_once(app, session):
    result = _run(app, "demo", "load")
    assert result.exit_code == 0, result.output
    password = re.search(r"一次性密码：(\S+)（", result.output).group(1)
    names = set(session.scalars(select(Department.name)))
    assert {"廊坊市市场监督管理局", "国家税务总局廊坊市税务局", "廊坊市生态环境局"} <= names
    assert session.scalar(select(User).where(User.username == "admin")).must_change_password
    assert login(app.test_client(), "admin", password).status_code == 302
    drawn = session.scalar(select(Plan).where(Plan.status == "drawn").order_by(Plan.id).limit(1))
    assert drawn is not None and session.scalar(select(Plan).where(Plan.status == "draft"))
    draw = session.scalar(select(Draw).where(Draw.plan_id == drawn.id))
    assert json.loads(draw.summary)["drawn"] > 0
    # every demo inspector account is linked to the 执法人员 of the same name in its department
    for username, name, role, _code in demo.STAFF:
        if role != Role.INSPECTOR:
            continue
        user = session.scalar(select(User).where(User.username == username))
        inspector = session.scalar(select(Inspector).where(Inspector.user_id == user.id))
        assert inspector is not None and inspector.name == name == user.display_name, username
        assert inspector.department_id == user.department_id
    # firm names carry no numeric suffix, and the industry fits the name
    firms = session.execute(select(Entity.name, Entity.industry_code)).all()
    assert firms and not [n for n, _ in firms if re.search(r"\d$", n)]
    assert {c for n, c in firms if n.endswith("小吃店")} <= {"6291"}
    assert {c for n, c in firms if n.endswith("药店")} <= {"5251"}
    client = app.test_client()
    login(client, "lf_zhangwei", demo.DEMO_STAFF_PASSWORD)
    tasks = client.get("/console/my-tasks").get_data(as_text=True)
    assert drawn.code in tasks
    assert client.get(f"/public/draws/{draw.id}").status_code == 200
    states = set(session.scalars(select(InspectionRecord.status)))
    assert {"published", "submitted", "returned", "draft"} <= states
    published = session.scalar(
        select(InspectionRecord).where(InspectionRecord.status == "published")
    )
    assert client.get(f"/public/firms/{published.uscc}").status_code == 200
    # the full-size demo's joint plan is drawn with every slot staffed (scripts/serve loads it)
    joint = session.scalar(select(Plan).where(Plan.code.like("LFJOINT-%")))
    joint_draw = session.scalar(select(Draw).where(Draw.plan_id == joint.id))
    assert json.loads(joint_draw.summary)["unstaffed"] == 0
    # each demo matter has its checklist, published by its department's administrator
    checklist = session.scalar(
        select(MatterChecklist).join(Matter).where(Matter.code == "SAMR-001").limit(1)
    )
    assert checklist.version == 1 and checklist.items[0].content == "年度报告按时报送"
    assert "年度报告按时报送" in client.get("/matters").get_data(as_text=True)
    again = _run(app, "demo", "load")
    assert "未加载演示数据" in again.output


def test_audit_verify_ok_then_broken(app, session, world):
    from shuangsuiji.services.platform import audit

    for n in range(3):
        audit.record(session, actor=None, action="audit.verify", object_type="x", object_id=n)
    session.commit()
    ok = _run(app, "audit", "verify")
    assert ok.exit_code == 0 and ok.output.startswith("OK (whole chain): 3 entries in")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER audit_entries_no_update"))
    session.execute(text("UPDATE audit_entries SET object_id = 'forged' WHERE seq = 2"))
    session.commit()
    broken = _run(app, "audit", "verify", "--full")
    assert broken.exit_code == 1
    assert "BROKEN (edited) at entry 2" in broken.output


def _tamper(session, *seqs):
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))
    for seq in seqs:
        session.execute(
            text("UPDATE audit_entries SET object_id = 'forged' WHERE seq = :s"), {"s": seq}
        )
    session.commit()


def _record(session, count):
    from shuangsuiji.services.platform import audit

    for n in range(count):
        audit.record(session, actor=None, action="audit.verify", object_type="x", object_id=n)
    session.commit()


def test_audit_verify_starts_from_the_last_checkpoint(app, session, world):
    from shuangsuiji.db import AuditVerification

    _record(session, 5)
    first = _run(app, "audit", "verify")
    assert first.exit_code == 0 and first.output.startswith("OK (whole chain): 5 entries in")
    assert re.search(r"\(\d[\d,]* entries/s\)", first.output)
    checkpoint = session.scalars(select(AuditVerification)).one()
    assert (checkpoint.seq, checkpoint.full, checkpoint.checked) == (5, True, 5)
    _record(session, 3)
    second = _run(app, "audit", "verify")
    assert second.exit_code == 0, second.output
    assert (
        "since the checkpoint of" in second.output
        and "OK (entries 6–8): 3 entries" in second.output
    )
    # Entry 9 is edited after the checkpoint (at 8), entry 2 before it.
    _record(session, 2)
    _tamper(session, 9, 2)
    incremental = _run(app, "audit", "verify")
    assert incremental.exit_code == 1
    assert "BROKEN (edited) at entry 9" in incremental.output
    assert "entry 2" not in incremental.output  # verified by the earlier verification
    full = _run(app, "audit", "verify", "--full")
    assert full.exit_code == 1
    assert "BROKEN (edited) at entry 2" in full.output
    assert "BROKEN (edited) at entry 9" in full.output
    assert session.scalar(select(func.count()).select_from(AuditVerification)) == 2


def test_reset_password(app, session, world):
    result = _run(app, "users", "reset-password", "insp_a")
    assert result.exit_code == 0
    password = result.output.strip().split("：")[-1]
    assert login(app.test_client(), "insp_a", password).status_code == 302


def test_reset_password_unknown_user(app, session):
    result = _run(app, "users", "reset-password", "nobody")
    assert result.exit_code != 0 and "不存在" in result.output
