"""`shuangsuiji statistics rebuild`: the aggregates recomputed from the records, idempotent."""

from __future__ import annotations

from sqlalchemy import delete, select

from shuangsuiji.cli import main
from shuangsuiji.db import StatCell, StatCellYear, StatMonth, StatStratum

from .. import results_world


def _rows(session):
    session.expire_all()
    return [
        sorted(
            tuple(getattr(r, c.key) for c in model.__table__.columns)
            for r in session.scalars(select(model))
        )
        for model in (StatMonth, StatStratum, StatCell, StatCellYear)
    ]


def test_rebuild_refills_emptied_aggregates_and_is_idempotent(app, session, world):
    w = results_world.drawn(session, world)
    results_world.enter(session, w, world["admin_a"], approve_as=world["sysadmin"])
    session.commit()
    kept = _rows(session)
    assert all(kept)
    for model in (StatCellYear, StatCell, StatStratum, StatMonth):
        session.execute(delete(model))
    session.commit()
    assert _rows(session) == [[], [], [], []]
    for _ in range(2):
        result = app.test_cli_runner().invoke(main, ["statistics", "rebuild"])
        assert result.exit_code == 0, result.output
        assert "已重算统计汇总：1 个部门月份" in result.output
        assert _rows(session) == kept
