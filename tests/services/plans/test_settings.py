"""A plan's settings: what parse_values accepts, refuses and stores."""

from __future__ import annotations

import pytest

from shuangsuiji.errors import Invalid
from shuangsuiji.services.plans import plans, settings

from ...draw_world import plan_values
from .helpers import make_plan


def test_plan_validation_names_every_problem(session, world, registry):
    bad = plan_values(
        code="坏 编号",
        slots=["DEPT-A"],
        strata={"A": {"ratio": "150%"}},
        randomness=[{"label": "srv", "kind": "server"}],
        fieldwork_start="2026-12-10",
        fieldwork_end="2026-12-01",
    )
    with pytest.raises(Invalid) as exc:
        plans.create(session, actor=world["admin_a"], department_id=world["a"].id, raw=bad)
    errors = exc.value.errors
    assert set(errors) >= {"code", "slots", "strata", "randomness", "fieldwork_end"}
    assert any("两名" in m for m in errors["slots"])
    assert any("唯一随机源" in m for m in errors["randomness"])
    assert any("B 类" in m for m in errors["strata"])  # missing classes are named


def test_update_stores_strata_slots_and_randomness_as_json(session, world, registry):
    plan = make_plan(session, world, registry)
    plans.update(
        session,
        actor=world["admin_a"],
        plan_id=plan.id,
        raw={"strata": settings.preset_strata("henan"), "slots": ["*", "*", "*"]},
    )
    cfg = settings.config(plan)
    assert cfg["strata"]["D"] == {"ratio": "0.3"} and cfg["slots"] == ["*", "*", "*"]


@pytest.mark.parametrize("ratio", ["NaN", "sNaN", "Infinity", "abc%", "1E-50"])
def test_ratios_that_are_not_ratios_are_named(session, world, registry, ratio):
    with pytest.raises(Invalid) as exc:
        make_plan(session, world, registry, strata={c: {"ratio": ratio} for c in "ABCDX"})
    assert "strata" in exc.value.errors


def test_a_matter_id_that_is_not_a_number_is_an_error(session, world, registry):
    with pytest.raises(Invalid) as exc:
        plans.create(
            session,
            actor=world["admin_a"],
            department_id=world["a"].id,
            raw=plan_values(matter_ids=[str(registry["matter"].id), "abc"]),
        )
    assert "matter_ids" in exc.value.errors
