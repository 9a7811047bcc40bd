"""A recurring plan over the draw_world registry, and times in Beijing."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from shuangsuiji.services.plans import batches, participation

from . import factories

BEIJING = ZoneInfo("Asia/Shanghai")
TIMING = batches.Timing(dt.time(9, 0), BEIJING, dt.timedelta(minutes=60))
SERVER = [{"label": "server", "kind": "server"}]


def beijing(*args) -> dt.datetime:
    """A Beijing wall-clock time as an aware UTC datetime."""
    return dt.datetime(*args, tzinfo=BEIJING).astimezone(dt.UTC)


def recurring_values(code="YEAR-2027", recurrence="monthly", year=2027, **overrides):
    values = {
        "title": f"{year} 年度企业公示信息抽查计划",
        "recurrence": recurrence,
        "plan_year": year,
        "randomness": SERVER,
    }
    return factories.plan_values(code=code, **(values | overrides))


def active_plan(session, admin, department, matter, *, activated=None, consent_by=(), **overrides):
    """A recurring plan activated (by default on 2026-12-20, before its whole year 2027);
    the administrators `consent_by` first accept it for their (participating) departments."""
    values = recurring_values(**overrides)
    with factories.bound(session):
        plan = factories.PlanFactory(actor=admin, department=department, matters=[matter], **values)
    for participant_admin in consent_by:
        participation.decide(
            session,
            actor=participant_admin,
            plan_id=plan.id,
            department_id=participant_admin.department_id,
            accept=True,
        )
    batches.activate(
        session,
        actor=admin,
        plan_id=plan.id,
        now=activated or beijing(2026, 12, 20, 10, 0),
        timing=TIMING,
    )
    return plan
