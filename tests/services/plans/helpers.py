"""Helpers the plan and draw tests share."""

from __future__ import annotations

import io
import zipfile

from ... import factories
from ...draw_world import DICE


def make_plan(session, world, registry, **overrides):
    """A draft plan of department A on the registry's matter (plans.create, by the factory)."""
    return factories.PlanFactory(
        actor=world["admin_a"],
        code=overrides.pop("code", "PLAN-001"),
        matters=[registry["matter"]],
        **overrides,
    )


def commit_and_draw(session, world, plan, randomness=DICE):
    commitment = factories.CommitmentFactory(actor=world["admin_a"], plan=plan)
    draw = factories.DrawFactory(
        actor=world["admin_a"], commitment=commitment, randomness=randomness
    )
    return commitment, draw


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}
