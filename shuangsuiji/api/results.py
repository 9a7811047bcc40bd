"""Result entry and review over the API: the same rules as the console
(services/results/results.py)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from ..access import ADMINS, ALL_STAFF, allow
from ..db.states import RecordStatus
from ..edge import actor, db_session, today
from ..schemas.results import ResultIn, ResultOut, ReviewIn
from ..services.results import results

blp = Blueprint(
    "results",
    __name__,
    url_prefix="",
    description="检查结果：录入（检查组成员、部门管理员）、提交、审核与公示（部门管理员）",
)


def result_out(visit: results.Visit) -> dict:
    record = visit.record

    def split(text):
        return text.split(",") if text else []

    return {
        "id": record.id if record else None,
        "draw_id": visit.draw.id,
        "position": visit.row.drawn.position,
        "uscc": visit.row.drawn.uscc,
        "name": visit.row.entity.name,
        "status": visit.status,
        "status_label": visit.status_label,
        **{
            name: getattr(record, name) if record else None
            for name in (
                "checked_on",
                "notes",
                "submitted_at",
                "reviewed_at",
                "review_comment",
                "published_at",
            )
        },
        "matters": [
            {
                "matter_id": r.matter_id,
                "codes": split(r.codes),
                "methods": split(r.methods),
                "measures": split(r.measures),
                "measure_other": r.measure_other,
                "closed": r.follow_up_closed,
                "notes": r.notes,
            }
            for r in sorted(visit.results.values(), key=lambda r: r.matter_id)
        ],
        "attachments": visit.attachments,
        "can_enter": visit.editable,
        "can_review": visit.can_review and visit.status == RecordStatus.SUBMITTED,
    }


def _visit(draw_id: int, position: int) -> dict:
    return result_out(results.get_visit(db_session(), actor(), draw_id, position))


@blp.route("/draws/<int:draw_id>/results/<int:position>")
class Result(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, ResultOut)
    def get(self, draw_id, position):
        """一个抽中对象的检查记录（检查组成员、本部门管理员、纪检/审计可读）"""
        return _visit(draw_id, position)

    @allow(*ALL_STAFF)
    @blp.arguments(ResultIn)
    @blp.response(200, ResultOut)
    def put(self, values, draw_id, position):
        """保存检查结果（草稿）；规则错误按字段返回 422"""
        results.save(
            db_session(),
            actor=actor(),
            draw_id=draw_id,
            position=position,
            raw=values,
            today=today(),
        )
        return _visit(draw_id, position)


@blp.route("/draws/<int:draw_id>/results/<int:position>/submit")
class ResultSubmit(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, ResultOut)
    def post(self, draw_id, position):
        """提交审核：所有事项已录入且填写了检查日期"""
        results.submit(db_session(), actor=actor(), draw_id=draw_id, position=position)
        return _visit(draw_id, position)


@blp.route("/draws/<int:draw_id>/results/<int:position>/review")
class ResultReview(MethodView):
    @allow(*ADMINS)
    @blp.arguments(ReviewIn)
    @blp.response(200, ResultOut)
    def post(self, values, draw_id, position):
        """审核：approve 通过并公示，return 退回补正，reject 不通过（本任务所属部门管理员）"""
        results.review(
            db_session(),
            actor=actor(),
            draw_id=draw_id,
            position=position,
            decision=values["decision"],
            comment=values["comment"],
        )
        return _visit(draw_id, position)
