"""The audit trail: entries, checkpoints and chain verification."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from ..access import OVERSEERS, allow
from ..db.states import Role
from ..edge import actor, db_session
from ..schemas.audit import AuditEntryOut, AuditQuery, CheckpointOut
from ..schemas.common import LINK_HEADER, CursorQuery, TaskOut, cursor_page_of
from ..services.platform import audit, tasks
from .paging import limit_of, paged
from .tasks import task_out

blp = Blueprint("audit", __name__, url_prefix="/audit", description="审计日志（全过程记录）")


def entry_out(shown: audit.ReadableEntry) -> dict:
    entry = shown.entry
    return {
        name: getattr(entry, name)
        for name in (
            "seq",
            "at",
            "actor_id",
            "actor_name",
            "department_id",
            "action",
            "object_type",
            "object_id",
            "prev_hash",
            "hash",
        )
    } | {
        "action_label": shown.action_label,
        "object_label": shown.object_label,
        "before": shown.before,
        "after": shown.after,
        "redacted": shown.redacted,
    }


@blp.route("/entries")
class Entries(MethodView):
    @allow(*OVERSEERS)
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, cursor_page_of(AuditEntryOut, "AuditEntryCursorPage"), headers=LINK_HEADER)
    def get(self, query):
        """审计日志条目（新的在前），按游标分页：下一页见 next 或 Link 头"""
        page = audit.page_entries(
            db_session(),
            actor(),
            cursor=query["cursor"],
            limit=limit_of(query),
            action=query.get("action"),
            object_type=query.get("object_type"),
            object_id=query.get("object_id"),
            actor_name=query.get("actor"),
            hmac=query.get("hmac"),
        )
        return paged(page, [entry_out(audit.readable(e)) for e in page.items])


@blp.route("/checkpoints")
class Checkpoints(MethodView):
    @allow(*OVERSEERS)
    @blp.arguments(CursorQuery, location="query")
    @blp.response(200, cursor_page_of(CheckpointOut, "CheckpointCursorPage"), headers=LINK_HEADER)
    def get(self, query):
        """每日检查点（条目数与链头哈希，新的在前），按游标分页：下一页见 next 或 Link 头"""
        page = audit.checkpoint_page(db_session(), cursor=query["cursor"], limit=limit_of(query))
        return paged(page, page.items)


@blp.route("/verify")
class Verify(MethodView):
    @allow(Role.SYSADMIN, Role.AUDITOR)
    @blp.response(202, TaskOut)
    def post(self):
        """在后台校验整条审计链；返回任务，进度见 /api/v1/tasks/{id}"""
        return task_out(tasks.enqueue(db_session(), kind="audit.verify", params={}, actor=actor()))
