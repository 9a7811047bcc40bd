"""Demo data for `scripts/serve`: a small, realistic set-up in Langfang (廊坊), Hebei.

A province bureau above a city SAMR bureau with two county bureaus, the city tax and ecology
bureaus, an administrator and a few staff per department. Loaded only into an empty database.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import Department, Inspector, Matter, Plan, User
from ..db.states import PlanStatus, RecordStatus, Role
from ..services.accounts import departments, users
from ..services.accounts.passwords import hash_password
from ..services.plans import draws, participation, plans, settings
from ..services.results import results

DEPARTMENTS = [
    # code, name, short name, kind, level, region, parent code
    ("HE-SAMR", "河北省市场监督管理局", "河北省市场监管局", "市场监管", "province", "130000", None),
    (
        "LF-SAMR",
        "廊坊市市场监督管理局",
        "廊坊市市场监管局",
        "市场监管",
        "city",
        "131000",
        "HE-SAMR",
    ),
    (
        "LF-XH-SAMR",
        "香河县市场监督管理局",
        "香河县市场监管局",
        "市场监管",
        "county",
        "131024",
        "LF-SAMR",
    ),
    (
        "LF-DC-SAMR",
        "大厂回族自治县市场监督管理局",
        "大厂县市场监管局",
        "市场监管",
        "county",
        "131028",
        "LF-SAMR",
    ),
    ("HE-TAX", "国家税务总局河北省税务局", "河北省税务局", "税务", "province", "130000", None),
    ("LF-TAX", "国家税务总局廊坊市税务局", "廊坊市税务局", "税务", "city", "131000", "HE-TAX"),
    ("HE-ENV", "河北省生态环境厅", "河北省生态环境厅", "生态环境", "province", "130000", None),
    ("LF-ENV", "廊坊市生态环境局", "廊坊市生态环境局", "生态环境", "city", "131000", "HE-ENV"),
]

STAFF = [
    # username, display name, role, department code
    ("lf_admin", "王建国", Role.DEPT_ADMIN, "LF-SAMR"),
    ("lf_zhangwei", "张伟", Role.INSPECTOR, "LF-SAMR"),
    ("lf_lina", "李娜", Role.INSPECTOR, "LF-SAMR"),
    ("xh_admin", "刘洋", Role.DEPT_ADMIN, "LF-XH-SAMR"),
    ("xh_chenjing", "陈静", Role.INSPECTOR, "LF-XH-SAMR"),
    ("xh_yangfan", "杨帆", Role.INSPECTOR, "LF-XH-SAMR"),
    ("dc_admin", "马国强", Role.DEPT_ADMIN, "LF-DC-SAMR"),
    ("dc_huanglei", "黄磊", Role.INSPECTOR, "LF-DC-SAMR"),
    ("tax_admin", "赵敏", Role.DEPT_ADMIN, "LF-TAX"),
    ("tax_sunli", "孙丽", Role.INSPECTOR, "LF-TAX"),
    ("env_admin", "周涛", Role.DEPT_ADMIN, "LF-ENV"),
    ("env_wuhao", "吴昊", Role.INSPECTOR, "LF-ENV"),
    ("auditor", "郑纪", Role.AUDITOR, None),  # not-a-state: the user name
]

# Every demo account except the administrator shares this password, printed by scripts/serve.
DEMO_STAFF_PASSWORD = "Demo-2026-pass"  # noqa: S105


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(User))


def load(session: Session) -> str:
    """Load the demo set-up; returns the administrator's one-time password."""
    root = User(
        username="admin",
        display_name="系统管理员",
        role=Role.SYSADMIN,
        password_hash=hash_password("unused"),
        must_change_password=True,
    )
    session.add(root)
    session.flush()
    admin_password = users.reset_password(session, actor=None, user_id=root.id)
    codes: dict[str, int] = {}
    for code, name, short, kind, level, region, parent in DEPARTMENTS:
        department = departments.create(
            session,
            actor=root,
            values={
                "code": code,
                "name": name,
                "short_name": short,
                "kind": kind,
                "level": level,
                "region_code": region,
                "parent_id": codes[parent] if parent else None,
            },
        )
        codes[code] = department.id
    for username, display_name, role, department_code in STAFF:
        values = {"username": username, "display_name": display_name, "role": role}
        if department_code:
            values["department_id"] = codes[department_code]
        users.create(
            session, actor=root, values=values, password=DEMO_STAFF_PASSWORD, min_length=10
        )
    return admin_password


def inspector_names(department_code: str) -> list[str]:
    """The display names of a department's demo inspector accounts, in STAFF order."""
    return [
        name for _, name, role, code in STAFF if code == department_code and role == Role.INSPECTOR
    ]


def link_inspectors(session: Session) -> None:
    """Link each demo inspector account to the 执法人员 record of the same name in its
    department (demo load names the first imported inspectors after them)."""
    for username, name, role, _code in STAFF:
        if role != Role.INSPECTOR:
            continue
        user = session.scalar(select(User).where(User.username == username))
        inspector = session.scalar(
            select(Inspector)
            .where(Inspector.department_id == user.department_id, Inspector.name == name)
            .order_by(Inspector.id)
            .limit(1)
        )
        if inspector is not None:
            inspector.user_id = user.id
    session.flush()


def _matter(code, name, sub_item, basis, scope, category="一般") -> dict:
    return {
        "code": code,
        "name": name,
        "sub_item": sub_item,
        "legal_basis": basis,
        "target_scope": scope,
        "category": category,
        "ratio": "",
        "frequency": "每年1次",
        "methods": "实地核查,书面检查",
        "content": "",
        "inspector_requirements": "",
        "effective_from": "2026-01-01",
        "effective_to": "",
        "notes": "",
    }


# The matters the tax and ecology bureaus bring to the joint plan (进一次门、查多项事).
PARTNER_MATTERS = {
    "LF-TAX": [
        _matter(
            "SW-001",
            "发票使用情况检查",
            "发票领用、开具和保管",
            "《中华人民共和国发票管理办法》",
            "纳税人",
        ),
        _matter(
            "SW-002",
            "纳税申报情况检查",
            "按期申报与税款缴纳",
            "《中华人民共和国税收征收管理法》",
            "纳税人",
        ),
    ],
    "LF-ENV": [
        _matter(
            "HJ-001",
            "排污许可执行情况检查",
            "按证排污与自行监测",
            "《排污许可管理条例》",
            "排污单位",
            "重点",
        ),
        _matter(
            "HJ-002",
            "固体废物污染环境防治检查",
            "贮存、转移与台账",
            "《中华人民共和国固体废物污染环境防治法》",
            "产生工业固体废物的单位",
        ),
    ],
}
# The joint plan's team: one inspector of each bureau. Each participant has a few inspectors
# and the plan picks the least loaded, so every one of them (the demo accounts' too) is on a
# team.
JOINT_SLOTS = ["LF-SAMR", "LF-TAX", "LF-ENV"]
JOINT_ADMINS = {"LF-TAX": "tax_admin", "LF-ENV": "env_admin"}
JOINT_STRATA = {
    "A": {"count": 1},
    "B": {"count": 2},
    "C": {"count": 2},
    "D": {"count": 1},
    "X": {"count": 1},
}

DEMO_DICE = "36152442561331465226"  # rolled once for the demo; a real ceremony rolls its own


def load_plans(session: Session, *, today: dt.date) -> None:
    """廊坊市场监管局's plans: one committed and drawn (list public at once), one draft."""
    admin = session.scalar(select(User).where(User.username == "lf_admin"))
    department = session.scalar(select(Department).where(Department.code == "LF-SAMR"))
    matters = session.scalars(
        select(Matter.id).where(Matter.department_id == department.id).order_by(Matter.code)
    ).all()
    common = {
        "matter_ids": list(matters[:2]),
        "strata": settings.preset_strata("henan"),
        "slots": ["LF-SAMR", "LF-SAMR"],
        "region_rule": "different",
        "workload_cap": 8,
        "cooldown_months": 12,
    }
    drawn = plans.create(
        session,
        actor=admin,
        department_id=department.id,
        raw=common
        | {
            "code": f"LFSAMR-{today.year}-{today.month:02d}",
            "title": f"{today.year} 年 {today.month} 月企业公示信息随机抽查",
            "publish_mode": "immediate",
            "fieldwork_start": today.isoformat(),
            "fieldwork_end": (today + dt.timedelta(days=30)).isoformat(),
        },
    )
    commitment = plans.commit(session, actor=admin, plan_id=drawn.id, today=today)
    draws.execute(
        session,
        actor=admin,
        commitment_id=commitment.id,
        randomness=[{"label": "dice", "value": DEMO_DICE, "witnesses": ["张明（公证员）", "李华"]}],
    )
    plans.create(
        session,
        actor=admin,
        department_id=department.id,
        raw=common
        | {
            "code": f"LFSAMR-{today.year}-{today.month % 12 + 1:02d}",
            "title": "下月企业公示信息随机抽查（草稿）",
        },
    )
    session.flush()


def _user(session: Session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def load_joint_plan(session: Session, *, today: dt.date) -> None:
    """A joint plan of 廊坊市场监管局 with the tax and ecology bureaus (联合抽查): each team
    has an inspector of each bureau, the plan takes a matter of each; both bureaus have
    accepted (确认参加), and it is committed and drawn, so a first look shows the whole
    journey from either side. The least loaded pick puts every one of the participants' few
    inspectors on a team, their demo inspector accounts' too."""
    admin = _user(session, "lf_admin")
    lead = session.scalar(select(Department).where(Department.code == JOINT_SLOTS[0]))
    matter_ids = []
    for code in JOINT_SLOTS:
        matter_ids.append(
            session.scalar(
                select(Matter.id)
                .join(Department, Department.id == Matter.department_id)
                .where(Department.code == code)
                .order_by(Matter.code)
                .limit(1)
            )
        )
    plan = plans.create(
        session,
        actor=admin,
        department_id=lead.id,
        raw={
            "code": f"LFJOINT-{today.year}-{today.month:02d}",
            "title": f"{today.year} 年 {today.month} 月市场监管、税务、生态环境联合抽查",
            "matter_ids": matter_ids,
            "strata": JOINT_STRATA,
            "slots": JOINT_SLOTS,
            "region_rule": "none",
            "selection": "least_loaded",
            "workload_cap": 6,
            "cooldown_months": 12,
            "fieldwork_start": today.isoformat(),
            "fieldwork_end": (today + dt.timedelta(days=30)).isoformat(),
            "notes": "进一次门、查多项事：各部门各派一名执法人员组成检查组。",
        },
    )
    for code, admin_name in JOINT_ADMINS.items():
        department = session.scalar(select(Department).where(Department.code == code))
        participation.decide(
            session,
            actor=_user(session, admin_name),
            plan_id=plan.id,
            department_id=department.id,
            accept=True,
        )
    commitment = plans.commit(session, actor=admin, plan_id=plan.id, today=today)
    draws.execute(
        session,
        actor=admin,
        commitment_id=commitment.id,
        randomness=[{"label": "dice", "value": DEMO_DICE, "witnesses": ["张明（公证员）", "李华"]}],
    )


# (codes, methods, measures) of the demo results, and the state each record is left in.
DEMO_RESULTS = (
    (["1"], ["field", "document"], ["none"], RecordStatus.PUBLISHED),
    (["6"], ["field"], ["feedback"], RecordStatus.PUBLISHED),
    (["B"], ["document", "online"], ["order"], RecordStatus.SUBMITTED),
    (["1"], ["field"], ["none"], RecordStatus.RETURNED),
    (["E"], ["field"], ["order"], RecordStatus.DRAFT),
)


def load_results(session: Session, *, today: dt.date) -> None:
    """Results of the demo draw's first entities in each state (已公示, 待审核, 退回, 未录入),
    entered by a team member when one has an account, reviewed by the department's
    administrator (or the system administrator when the administrator entered them)."""
    root = session.scalar(select(User).where(User.username == "admin"))
    admin = session.scalar(select(User).where(User.username == "lf_admin"))
    department = session.scalar(select(Department).where(Department.code == "LF-SAMR"))
    plan = session.scalar(  # the monthly plan (drawn before the joint plan)
        select(Plan)
        .where(Plan.department_id == department.id, Plan.status == PlanStatus.DRAWN)
        .order_by(Plan.id)
        .limit(1)
    )
    if plan is None:
        return
    draw = draws.current_draw(session, plan)
    for row, (codes, methods, measures, state) in zip(
        draws.teams(session, draw, limit=len(DEMO_RESULTS)), DEMO_RESULTS, strict=False
    ):
        member = next(
            (m.inspector.user_id for m in row.members if m.inspector and m.inspector.user_id),
            None,
        )
        actor = session.get(User, member) if member else admin
        where = {"draw_id": draw.id, "position": row.drawn.position}
        entry = {"codes": codes, "methods": methods, "measures": measures}
        raw = {
            "checked_on": today,
            "notes": "演示数据",
            "matters": {str(m.id): entry for m in plan.matters},
        }
        results.save(session, actor=actor, raw=raw, today=today, **where)
        if state == RecordStatus.DRAFT:
            continue
        results.submit(session, actor=actor, **where)
        reviewer = root if actor.id == admin.id else admin
        if state == RecordStatus.PUBLISHED:
            results.review(session, actor=reviewer, decision="approve", comment="", **where)
        elif state == RecordStatus.RETURNED:
            results.review(
                session, actor=reviewer, decision="return", comment="请补充现场照片", **where
            )
