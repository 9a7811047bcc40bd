"""Helpers the plan and draw tests share."""

from __future__ import annotations

import io
import zipfile

from shuangsuiji.services.plans import draws, plans

from ...draw_world import DICE, TODAY, plan_values


def make_plan(session, world, registry, **overrides):
    values = plan_values(matter_ids=[registry["matter"].id], **overrides)
    return plans.create(session, actor=world["admin_a"], department_id=world["a"].id, raw=values)


def commit_and_draw(session, world, plan, randomness=DICE):
    commitment = plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=TODAY)
    return commitment, draws.execute(
        session, actor=world["admin_a"], commitment_id=commitment.id, randomness=randomness
    )


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}
