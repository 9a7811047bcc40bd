"""A small registry for plan and draw tests: entities, inspectors, a matter, conflicts."""

from __future__ import annotations

import datetime as dt
import random

from shuangsuiji.cli import synthetic
from shuangsuiji.db import ConflictDeclaration, Entity, Inspector, Matter

TODAY = dt.date(2026, 11, 20)
COUNTIES = ("131002", "131003", "131022")


def populate(session, department, *, entities=40, inspectors=8, seed=7, cert_prefix="13"):
    """Entities with classes A–D (and some unclassified) over three counties, active
    inspectors spread over the same counties, one matter."""
    rng = random.Random(seed)
    rows = []
    for i in range(entities):
        region = COUNTIES[i % len(COUNTIES)]
        rows.append(
            Entity(
                department_id=department.id,
                uscc=synthetic.make_uscc(rng, region, "有限责任公司"),
                name=f"测试企业{i:03d}有限公司",
                region_code=region,
                status="存续" if i % 10 != 9 else "注销",
                risk_class=(None, "A", "B", "C", "D")[i % 5],
            )
        )
    staff = [
        Inspector(
            department_id=department.id,
            name=f"检查员{i}",
            cert_no=f"{cert_prefix}{department.id:02d}{i:05d}",
            region_code=COUNTIES[i % len(COUNTIES)],
            status="active",
            qualifications="食品,特种设备" if i % 2 == 0 else "食品",
        )
        for i in range(inspectors)
    ]
    matter = Matter(
        department_id=department.id, code=f"M-{department.code}", name="企业公示信息检查"
    )
    session.add_all([*rows, *staff, matter])
    session.flush()
    return {"entities": rows, "inspectors": staff, "matter": matter}


def declare_conflict(session, inspector, entity):
    row = ConflictDeclaration(
        department_id=inspector.department_id,
        inspector_id=inspector.id,
        entity_id=entity.id,
        reason="近亲属在该企业任职",
        declared_on=TODAY - dt.timedelta(days=30),
    )
    session.add(row)
    session.flush()
    return row


def plan_values(code="PLAN-001", **overrides):
    values = {
        "code": code,
        "title": "2026 年第 11 批企业公示信息抽查",
        "strata": {c: {"ratio": "0.5"} for c in "ABCDX"},
        "slots": ["DEPT-A", "DEPT-A"],
        "workload_cap": 10,
        "randomness": [{"label": "dice", "kind": "digits", "min_len": 20}],
    }
    return values | overrides


DICE = [{"label": "dice", "value": "31415926535897932384", "witnesses": ["张三", "李四"]}]
