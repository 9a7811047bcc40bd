"""A drawn plan with two matters, ready for result entry: the first drawn entity's team has
department A's inspector account (insp_a) as its first member."""

from __future__ import annotations

import datetime as dt

from shuangsuiji.services.plans import draws
from shuangsuiji.services.results import results

from . import draw_world, factories

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


def drawn(session, world, *, code="PLAN-R1", registry=None):
    registry = registry or draw_world.populate(session, world["a"])
    with factories.bound(session):
        second = factories.MatterFactory(
            department=world["a"], code=f"{code}-M2", name="食品安全检查"
        )
        draw = factories.DrawFactory(
            actor=world["admin_a"],
            commitment__plan__code=code,
            commitment__plan__matters=[registry["matter"], second],
        )
    plan = draw.plan
    row = draws.teams(session, draw, offset=0, limit=1)[0]
    member = row.members[0].inspector
    member.user_id = world["insp_a"].id
    session.flush()
    drawn_on = draw.created_at.astimezone(dt.UTC).date()
    return {
        "registry": registry,
        "plan": plan,
        "draw": draw,
        "row": row,
        "entity": row.entity,
        "matters": [registry["matter"], second],
        "inspector": member,
        "checked_on": drawn_on,
        "today": drawn_on + dt.timedelta(days=1),
    }


def entry(matter_list, *, checked_on=None, notes="", matters=None) -> dict:
    """A complete entry: every matter 未发现问题 by 实地检查, no follow-up; `matters` replaces
    some of them."""
    return {
        "checked_on": checked_on,
        "notes": notes,
        "matters": {str(m.id): factories.finding() for m in matter_list} | (matters or {}),
    }


def enter(session, w, actor, *, position=None, matters=None, approve_as=None) -> int:
    """Enter a complete result for a drawn entity (the first by default) and submit it; with
    `approve_as`, that user approves (publishes) it too. Returns the position."""
    position = w["row"].drawn.position if position is None else position
    with factories.bound(session):
        factories.InspectionRecordFactory(
            actor=actor,
            draw=w["draw"],
            position=position,
            checked_on=w["checked_on"],
            today=w["today"],
            matters=matters or {},
            submit=True,
        )
    if approve_as is not None:
        results.review(
            session,
            actor=approve_as,
            draw_id=w["draw"].id,
            position=position,
            decision="approve",
            comment="",
        )
    return position
