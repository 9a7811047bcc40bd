"""The audit task (`audit.verify`): checks the audit log's hash chain and records the check."""

from __future__ import annotations

from ..services.platform import audit
from .handlers import TaskContext, handler


@handler("audit.verify")
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
