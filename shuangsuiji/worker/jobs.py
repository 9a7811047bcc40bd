"""Every background-task handler; importing this module registers them all."""

from __future__ import annotations

from ..services.platform import audit  # noqa: F401  (they register their handlers)
from ..services.platform.tasks import TaskContext, handler
from . import draws as _draws  # noqa: F401  (registers the draw task)
from . import imports as _imports  # noqa: F401  (registers the registry's handlers)


@handler("audit.verify", "校验审计日志链")
def verify_audit_chain(ctx: TaskContext) -> dict:
    def progress(done: int, total: int) -> None:
        ctx.progress(done, total, f"已校验 {done} / {total} 条")

    with ctx.db.transaction(write=False) as session:
        report = audit.verify(session, progress=progress).as_dict()
    with ctx.db.transaction() as session:
        audit.record(
            session,
            actor=ctx.actor(session),
            action="audit.verify",
            object_type="audit_chain",
            object_id="-",
            after=report,
        )
    return report
