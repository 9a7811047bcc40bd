"""A drawn plan with two matters, ready for result entry: the first drawn entity's team has
department A's inspector account (insp_a) as its first member."""

from __future__ import annotations

import datetime as dt

from shuangsuiji.db import Matter
from shuangsuiji.services.plans import draws, plans
from shuangsuiji.services.results import results

from . import draw_world

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


def drawn(session, world, *, code="PLAN-R1", registry=None):
    registry = registry or draw_world.populate(session, world["a"])
    second = Matter(department_id=world["a"].id, code=f"{code}-M2", name="食品安全检查")
    session.add(second)
    session.flush()
    plan = plans.create(
        session,
        actor=world["admin_a"],
        department_id=world["a"].id,
        raw=draw_world.plan_values(code=code, matter_ids=[registry["matter"].id, second.id]),
    )
    commitment = plans.commit(
        session, actor=world["admin_a"], plan_id=plan.id, today=draw_world.TODAY
    )
    draw = draws.execute(
        session, actor=world["admin_a"], commitment_id=commitment.id, randomness=draw_world.DICE
    )
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
    one = {"codes": ["1"], "methods": ["field"], "measures": ["none"]}
    return {
        "checked_on": checked_on,
        "notes": notes,
        "matters": {str(m.id): dict(one) for m in matter_list} | (matters or {}),
    }


def enter(session, w, actor, *, position=None, matters=None, approve_as=None) -> int:
    """Enter a complete result for a drawn entity (the first by default) and submit it; with
    `approve_as`, that user approves (publishes) it too. Returns the position."""
    position = w["row"].drawn.position if position is None else position
    results.save(
        session,
        actor=actor,
        draw_id=w["draw"].id,
        position=position,
        raw=entry(w["matters"], checked_on=w["checked_on"], matters=matters),
        today=w["today"],
    )
    results.submit(session, actor=actor, draw_id=w["draw"].id, position=position)
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
