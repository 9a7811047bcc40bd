"""A small registry for plan and draw tests: entities, inspectors, a matter, conflicts.

The rows are made by the factories (tests/factories.py) with fixed values, so that a draw on
DICE picks the same entities and teams every run.
"""

from __future__ import annotations

import datetime as dt
import random

from shuangsuiji.cli import synthetic
from shuangsuiji.db.states import EntityStatus

from . import factories
from .factories import DICE, TODAY, plan_values

__all__ = ["COUNTIES", "DICE", "TODAY", "declare_conflict", "plan_values", "populate"]

COUNTIES = ("131002", "131003", "131022")


def populate(session, department, *, entities=40, inspectors=8, seed=7, cert_prefix="13"):
    """Entities with classes A–D (and some unclassified) over three counties, active
    inspectors spread over the same counties, one matter; flushed in `session`."""
    rng = random.Random(seed)
    with factories.bound(session):
        rows = [
            factories.EntityFactory(
                department=department,
                uscc=synthetic.make_uscc(rng, COUNTIES[i % len(COUNTIES)], "有限责任公司"),
                name=f"测试企业{i:03d}有限公司",
                region_code=COUNTIES[i % len(COUNTIES)],
                status=EntityStatus.IN_BUSINESS if i % 10 != 9 else EntityStatus.DEREGISTERED,
                risk_class=(None, "A", "B", "C", "D")[i % 5],
            )
            for i in range(entities)
        ]
        staff = [
            factories.InspectorFactory(
                department=department,
                name=f"检查员{i}",
                cert_no=f"{cert_prefix}{department.id:02d}{i:05d}",
                region_code=COUNTIES[i % len(COUNTIES)],
                qualifications="食品,特种设备" if i % 2 == 0 else "食品",
            )
            for i in range(inspectors)
        ]
        matter = factories.MatterFactory(
            department=department, code=f"M-{department.code}", name="企业公示信息检查"
        )
    return {"entities": rows, "inspectors": staff, "matter": matter}


def declare_conflict(session, inspector, entity):
    with factories.bound(session):
        return factories.ConflictDeclarationFactory(
            inspector=inspector, entity=entity, declared_on=TODAY - dt.timedelta(days=30)
        )
