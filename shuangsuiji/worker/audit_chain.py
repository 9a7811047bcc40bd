"""The audit task (`audit.verify`): checks the whole audit log's hash chain, records the check
and, when the chain is intact, its verification checkpoint (where `shuangsuiji audit verify`
starts next time)."""

from __future__ import annotations

from ..services.platform import audit
from .handlers import TaskContext, handler


@handler("audit.verify")
def verify_audit_chain(ctx: TaskContext) -> dict:
    def progress(done: int, total: int) -> None:
        ctx.progress(done, total, f"已校验 {done} / {total} 条")

    with ctx.db.transaction(write=False) as session:
        verified = audit.verify(session, progress=progress)
    report = verified.as_dict()
    with ctx.db.transaction() as session:
        audit.record_verified(session, verified)
        audit.record(
            session,
            actor=ctx.actor(session),
            action="audit.verify",
            object_type="audit_chain",
            object_id="-",
            after=report,
        )
    return report
