"""Seeded random work through the services for the statistics tests: two departments'
registries, draws at given moments (time travel), redraws, and results that go every way of the
workflow (published, corrected after a return, rejected, waiting, left in draft)."""

from __future__ import annotations

import datetime as dt
import random

import time_machine
from sqlalchemy import select

from shuangsuiji.db import Draw, DrawEntity
from shuangsuiji.services.plans import draws, plans
from shuangsuiji.services.results import results

from . import draw_world, factories

FINDINGS = [["1"], ["6"], ["E"], ["3"], ["F"], ["8"], ["B"], ["C", "3"], ["9"]]
GOOD = {"methods": ["field"], "measures": ["none"]}


def finding(codes):
    if codes in (["1"], ["F"], ["9"]):
        return {"codes": codes, **GOOD}
    return {"codes": codes, "methods": ["field"], "measures": ["order"]}


class History:
    """Random work on two departments' registries, through the services."""

    def __init__(self, session, world, seed):
        self.session, self.world = session, world
        self.rng = random.Random(seed)
        self.registries = {
            "a": draw_world.populate(session, world["a"], seed=seed),
            "b": draw_world.populate(session, world["b"], seed=seed + 1, cert_prefix="14"),
        }
        industries = ["1311", "5211", "6510", "6210", None, "3011", "C", "9999"]
        for registry in self.registries.values():
            for entity in registry["entities"]:
                entity.industry_code = self.rng.choice(industries)
        session.flush()
        self.draws: list[tuple[Draw, str]] = []  # live draws and their department key
        self.count = 0

    def _admin(self, key):
        return self.world[f"admin_{key}"]

    def draw(self, moment, key):
        self.count += 1
        code = f"H{self.count:03d}"
        with time_machine.travel(moment, tick=False):
            plan = factories.PlanFactory(
                actor=self._admin(key),
                code=code,
                matters=[self.registries[key]["matter"]],
                slots=[self.world[key].code] * 2,
                exclude_open=False,
            )
            commitment = plans.commit(
                self.session, actor=self._admin(key), plan_id=plan.id, today=moment.date()
            )
            drawn = draws.execute(
                self.session,
                actor=self._admin(key),
                commitment_id=commitment.id,
                randomness=factories.DICE,
            )
        self.draws.append((drawn, key))
        return drawn

    def redraw(self, index, moment):
        old, key = self.draws[index]
        with time_machine.travel(moment, tick=False):
            commitment = plans.commit(
                self.session,
                actor=self._admin(key),
                plan_id=old.plan_id,
                today=moment.date(),
                reason="骰子录入错误",
            )
            new = draws.execute(
                self.session,
                actor=self._admin(key),
                commitment_id=commitment.id,
                randomness=[{**factories.DICE[0], "value": "27182818284590452353"}],
            )
        assert new.supersedes_id == old.id
        self.draws[index] = (new, key)

    def enter(self, draw, key, position, codes):
        drawn_on = draw.created_at.astimezone(dt.UTC).date()
        matter = self.registries[key]["matter"]
        results.save(
            self.session,
            actor=self._admin(key),
            draw_id=draw.id,
            position=position,
            raw={
                "checked_on": drawn_on + dt.timedelta(days=self.rng.randint(0, 40)),
                "matters": {str(matter.id): finding(codes)},
            },
            today=drawn_on + dt.timedelta(days=60),
        )
        results.submit(self.session, actor=self._admin(key), draw_id=draw.id, position=position)

    def review(self, draw, position, decision):
        results.review(
            self.session,
            actor=self.world["sysadmin"],
            draw_id=draw.id,
            position=position,
            decision=decision,
            comment="" if decision == "approve" else "请补正",
        )

    def work(self, index, check=None):
        """Random results for one live draw: every path of the workflow."""
        draw, key = self.draws[index]
        positions = [
            p
            for (p,) in self.session.execute(
                select(DrawEntity.position).where(DrawEntity.draw_id == draw.id)
            )
        ]
        for position in self.rng.sample(positions, k=min(len(positions), 8)):
            path = self.rng.choice(["publish", "correct", "reject", "wait", "draft"])
            if path == "draft":
                continue
            self.enter(draw, key, position, self.rng.choice(FINDINGS))
            if path == "publish":
                self.review(draw, position, "approve")
            elif path == "correct":
                self.review(draw, position, "return")
                if check:
                    check(self.session)
                self.enter(draw, key, position, self.rng.choice(FINDINGS))
                self.review(draw, position, "approve")
            elif path == "reject":
                self.review(draw, position, "reject")
