"""The draw task (`draw.run`): runs a queued draw in one transaction, which it owns; the
service below it (services/plans/draws.py) only flushes."""

from __future__ import annotations

from ..services.plans import draws
from .handlers import TaskContext, handler


@handler("draw.run")
def run(ctx: TaskContext) -> dict:
    ctx.progress(0, 3, "正在抽取")
    with ctx.db.transaction() as session:
        actor = ctx.actor(session)
        # Progress is written in its own transaction. SQLite has one writer at a time: from
        # inside this write transaction that second writer would wait on the first until the
        # busy timeout, so on SQLite progress is reported only before and after.
        concurrent_writers = session.get_bind().dialect.name != "sqlite"
        draw = draws.execute(
            session,
            actor=actor,
            commitment_id=ctx.params["commitment_id"],
            randomness=ctx.params["randomness"],
            progress=ctx.progress if concurrent_writers else None,
        )
        result = {"draw_id": draw.id, "seed": draw.seed}
    ctx.progress(3, 3, "抽取完成")
    return result
