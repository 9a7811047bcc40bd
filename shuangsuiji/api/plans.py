"""Plans (抽查任务), their commitments and draws (SRDP-1), replacements and inspectors' tasks."""

from __future__ import annotations

import io

from flask import current_app, send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from ..access import ADMINS, ALL_STAFF, OVERSEERS, allow
from ..db import utcnow
from ..edge import actor, database, db_session, today
from ..errors import Invalid
from ..schemas.common import LINK_HEADER, TaskOut, cursor_page_of
from ..schemas.plans import (
    BatchOut,
    BatchValueIn,
    BatchValueOut,
    CommitIn,
    CommitmentOut,
    DrawIn,
    DrawOut,
    InspectorTaskOut,
    InspectorTaskQuery,
    ManifestOut,
    ParticipationIn,
    ParticipationOut,
    ParticipationQuery,
    PlanIn,
    PlanOut,
    PlanPatch,
    PlanQuery,
    ReplacementIn,
    ReplacementOut,
    TeamPage,
    TeamsQuery,
)
from ..services import scope
from ..services.plans import batches, draws, participation, plans
from .paging import limit_of, paged
from .tasks import task_out

blp = Blueprint(
    "plans", __name__, url_prefix="", description="抽查任务、承诺、抽取（SRDP-1）与人员替换"
)
AUDITORS = OVERSEERS  # who may read the full manifest, the bundle and the teams


def commitment_out(c) -> dict:
    return {name: getattr(c, name) for name in CommitmentOut().fields} | {
        "summary": plans.commitment_summary_for(actor(), c.plan, c)
    }


def plan_out(plan, page: tuple[dict, dict] | None = None) -> dict:
    """A plan as the API shows it; `page`: its list page's commitments and current draws,
    read for all of the page at once (plans.commitments_of, draws.current_draw_ids)."""
    session = db_session()
    if page is None:
        current = draws.current_draw(session, plan)
        current_id = current.id if current else None
        made = plans.commitments(session, plan)
    else:
        made, current_id = page[0][plan.id], page[1].get(plan.id)
    return plans.snapshot_for(actor(), plan) | {
        "status_label": plans.STATUS_LABELS[plan.status],
        "fieldwork_start": plan.fieldwork_start,
        "fieldwork_end": plan.fieldwork_end,
        "created_at": plan.created_at,
        "updated_at": plan.updated_at,
        "commitments": [commitment_out(c) for c in made],
        "current_draw_id": current_id,
        "activated_at": plan.activated_at,
        "chain_tip": plan.chain_tip,
    }


def draw_out(draw) -> dict:
    newer = draws.superseded_by(db_session(), draw)
    return {name: getattr(draw, name, None) for name in DrawOut().fields} | {
        "srdp_id": draw.commitment.srdp_id,
        "superseded_by": newer.id if newer else None,
        "summary": draws.summary_for(actor(), draw),
    }


def team_out(row: draws.TeamRow, plan) -> dict:
    classes = (
        {"stratum": row.drawn.stratum, "rank": row.drawn.rank}
        if scope.sees_strata(actor(), plan.department_id)
        else {}
    )
    return classes | {
        "position": row.drawn.position,
        "entity_id": row.entity.id,
        "uscc": row.drawn.uscc,
        "name": row.entity.name,
        "ticket": row.drawn.ticket,
        "whole": row.whole,
        "members": [
            {
                "slot": m.slot,
                "inspector_id": m.inspector.id if m.inspector else None,
                "name": m.inspector.name if m.inspector else None,
                "cert_no": m.inspector.cert_no if m.inspector else None,
                "phase": m.phase,
                "replaced": m.replaced,
                "hidden": m.hidden,
            }
            for m in row.members
        ],
    }


@blp.route("/plans")
class Plans(MethodView):
    @allow(*ALL_STAFF)
    @blp.arguments(PlanQuery, location="query")
    @blp.response(200, cursor_page_of(PlanOut, "PlanCursorPage"), headers=LINK_HEADER)
    def get(self, args):
        """可见的抽查任务（新的在前），按游标分页：下一页见 next 或 Link 头"""
        page = plans.page_visible(
            db_session(),
            actor(),
            status=args["status"],
            cursor=args["cursor"],
            limit=limit_of(args),
        )
        ids = [p.id for p in page.items]
        extras = (
            plans.commitments_of(db_session(), ids),
            draws.current_draw_ids(db_session(), ids),
        )
        return paged(page, [plan_out(p, extras) for p in page.items])

    @allow(*ADMINS)
    @blp.arguments(PlanIn)
    @blp.response(201, PlanOut)
    def post(self, values):
        """新建抽查任务（草稿）"""
        user = actor()
        department_id = values.pop("department_id", None)
        department_id = scope.own_department(user, department_id)
        if department_id is None:
            raise Invalid("请指定所属部门", errors={"department_id": ["必填"]})
        plan = plans.create(db_session(), actor=user, department_id=department_id, raw=values)
        return plan_out(plan)


@blp.route("/plans/<int:plan_id>")
class PlanById(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, PlanOut)
    def get(self, plan_id):
        """抽查任务详情，含各次承诺"""
        return plan_out(plans.get(db_session(), actor(), plan_id))

    @allow(*ADMINS)
    @blp.arguments(PlanPatch)
    @blp.response(200, PlanOut)
    def patch(self, values, plan_id):
        """修改草稿（承诺后输入冻结：409）"""
        return plan_out(plans.update(db_session(), actor=actor(), plan_id=plan_id, raw=values))


@blp.route("/plans/<int:plan_id>/commit")
class PlanCommit(MethodView):
    @allow(*ADMINS)
    @blp.arguments(CommitIn)
    @blp.response(201, CommitmentOut)
    def post(self, values, plan_id):
        """承诺：冻结名录与人员库，公布快照摘要；重新抽取须填写 reason。人员不足时 422，
        errors.capacity 列出各部门、各区域的缺口"""
        commitment = plans.commit(
            db_session(), actor=actor(), plan_id=plan_id, today=today(), reason=values["reason"]
        )
        return commitment_out(commitment)


def participation_out(row, counts: dict[int, int] | None = None) -> dict:
    plan = row.plan
    return {
        "plan_id": plan.id,
        "plan_code": plan.code,
        "plan_title": plan.title,
        "plan_status": plan.status,
        "lead_department_id": plan.department_id,
        "lead_department_name": plan.department.name,
        "department_id": row.department_id,
        "department_code": row.department.code,
        "department_name": row.department.name,
        "status": row.status,
        "status_label": participation.STATUS_LABELS[row.status],
        "reason": row.reason,
        "requested_at": row.requested_at,
        "decided_at": row.decided_at,
        "eligible_inspectors": (counts or {}).get(row.department_id),
    }


@blp.route("/participations")
class Participations(MethodView):
    @allow(*AUDITORS)
    @blp.arguments(ParticipationQuery, location="query")
    @blp.response(
        200, cursor_page_of(ParticipationOut, "ParticipationCursorPage"), headers=LINK_HEADER
    )
    def get(self, args):
        """联合抽查邀请：其他部门的联合抽查任务请本部门参加（新的在前），按游标分页"""
        page = participation.requests_page(
            db_session(),
            actor(),
            status=args["status"],
            cursor=args["cursor"],
            limit=limit_of(args),
        )
        return paged(page, [participation_out(r) for r in page.items])


@blp.route("/plans/<int:plan_id>/participations")
class PlanParticipations(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, ParticipationOut(many=True))
    def get(self, plan_id):
        """联合抽查任务各配合部门的参加确认，及各部门符合条件的执法人员人数（不含姓名）"""
        session = db_session()
        plan = plans.get(session, actor(), plan_id)
        counts = participation.eligible_counts(session, plan, today(), viewer=actor())
        return [participation_out(r, counts) for r in participation.of_plan(session, plan)]


@blp.route("/plans/<int:plan_id>/participations/<int:department_id>")
class PlanParticipationAnswer(MethodView):
    @allow(*ADMINS)
    @blp.arguments(ParticipationIn)
    @blp.response(200, ParticipationOut)
    def post(self, values, plan_id, department_id):
        """配合部门确认参加（accept）或拒绝（decline，须填写理由）；全部配合部门确认参加前，
        任务不能承诺或启用。仅该部门管理员可答复；发起部门答复：403"""
        row = participation.decide(
            db_session(),
            actor=actor(),
            plan_id=plan_id,
            department_id=department_id,
            accept=None if values["decision"] is None else values["decision"] == "accept",
            reason=values["reason"],
        )
        return participation_out(row)


@blp.route("/plans/<int:plan_id>/draws")
class PlanDraws(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, DrawOut(many=True))
    def get(self, plan_id):
        """该任务的全部抽取结果（含已被取代的）"""
        plan = plans.get(db_session(), actor(), plan_id)
        return [draw_out(d) for d in plans.draws_of(db_session(), plan)]

    @allow(*ADMINS)
    @blp.arguments(DrawIn)
    @blp.response(202, TaskOut)
    def post(self, values, plan_id):
        """录入随机数并在后台抽取；结果见任务的 result.draw_id。同一承诺再次请求：409"""
        task = draws.request(
            db_session(), actor=actor(), plan_id=plan_id, randomness=values["randomness"]
        )
        return task_out(task)


def _timing() -> batches.Timing:
    return batches.Timing.from_config(current_app.config)


@blp.route("/plans/<int:plan_id>/activate")
class PlanActivate(MethodView):
    @allow(*ADMINS)
    @blp.response(200, PlanOut)
    def post(self, plan_id):
        """启用周期任务：公布服务器密值哈希链顶端；此后各批次由调度程序按时承诺并抽取"""
        plan = batches.activate(
            db_session(), actor=actor(), plan_id=plan_id, now=utcnow(), timing=_timing()
        )
        return plan_out(plan)


@blp.route("/plans/<int:plan_id>/batches")
class PlanBatches(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, BatchOut(many=True))
    def get(self, plan_id):
        """周期任务的批次：到期时间、状态（待到期、已抽取、失败及原因）与抽取结果"""
        plan = plans.get(db_session(), actor(), plan_id)
        return [
            {
                "key": row.entry.period.key,
                "period_start": row.entry.period.start,
                "period_end": row.entry.period.end,
                "due_at": row.entry.due,
                "status": row.status,
                "attempts": row.batch.attempts if row.batch else 0,
                "error": row.batch.error if row.batch else None,
                "commitment_id": row.batch.commitment_id if row.batch else None,
                "draw_id": row.batch.draw_id if row.batch else None,
            }
            for row in batches.overview(db_session(), plan, _timing())
        ]


@blp.route("/plans/<int:plan_id>/batch-values")
class PlanBatchValues(MethodView):
    @allow(*ADMINS)
    @blp.arguments(BatchValueIn)
    @blp.response(200, BatchValueOut)
    def post(self, values, plan_id):
        """录入（或在抽取前更正）某批次的公开数值（彩票开奖号等），到期时与服务器密值一起
        进入该批次的种子"""
        return batches.enter_value(
            db_session(),
            actor=actor(),
            plan_id=plan_id,
            typed=batches.TypedValue(**values),
            now=utcnow(),
            timing=_timing(),
        )


@blp.route("/plans/<int:plan_id>/close")
class PlanClose(MethodView):
    @allow(*ADMINS)
    @blp.response(200, PlanOut)
    def post(self, plan_id):
        """结束任务（检查完毕；按计划公示名单）"""
        return plan_out(plans.close(db_session(), actor=actor(), plan_id=plan_id))


@blp.route("/draws/<int:draw_id>")
class DrawById(MethodView):
    @allow(*AUDITORS)
    @blp.response(200, ManifestOut)
    def get(self, draw_id):
        """完整清单（SRDP-1 §7）

        含分类、区域与检查人员：仅限本部门管理员、系统管理员、纪检/审计。
        """
        draw = draws.get(db_session(), actor(), draw_id, whole=True)
        return draws.full_manifest(db_session(), draw)


@blp.route("/draws/<int:draw_id>/bundle")
class DrawBundle(MethodView):
    @allow(*AUDITORS)
    @blp.response(200, content_type="application/zip")
    def get(self, draw_id):
        """抽取数据包（zip）

        四个输入文件、SHA256SUMS 和 manifest.json；用 `shuangsuiji draw verify` 复核。
        """
        # Its own write transaction: the download is recorded in the audit trail.
        with database().transaction() as session:
            draw, data = draws.bundle_zip(session, actor(), draw_id)
            name = f"{draw.commitment.srdp_id}-bundle.zip"
        return send_file(
            io.BytesIO(data), mimetype="application/zip", as_attachment=True, download_name=name
        )


@blp.route("/draws/<int:draw_id>/teams")
class DrawTeams(MethodView):
    @allow(*AUDITORS)
    @blp.arguments(TeamsQuery, location="query")
    @blp.response(200, TeamPage, headers=LINK_HEADER)
    def get(self, args, draw_id):
        """抽中对象及检查组（按处理顺序，已应用人员替换），按游标分页（下一页见 next 或 Link 头）"""
        session = db_session()
        draw = draws.get(session, actor(), draw_id)
        page = draws.teams_page(
            session, draw, cursor=args["cursor"], limit=limit_of(args), viewer=actor()
        )
        body, status, headers = paged(page, [team_out(r, draw.plan) for r in page.items])
        return {**body, "total": draws.count_drawn(session, draw)}, status, headers


@blp.route("/draws/<int:draw_id>/replacements")
class DrawReplacements(MethodView):
    @allow(*AUDITORS)
    @blp.response(200, ReplacementOut(many=True))
    def get(self, draw_id):
        """人员替换记录（SRDP-1 §6）"""
        session = db_session()
        return draws.replacements(session, draws.get(session, actor(), draw_id))

    @allow(*ADMINS)
    @blp.arguments(ReplacementIn)
    @blp.response(201, ReplacementOut)
    def post(self, values, draw_id):
        """替换检查人员（回避、因病等）：按 SRDP-1 §6 随机补选，记录理由并公开"""
        draws.get(db_session(), actor(), draw_id)  # scope first: another department gets 404
        missing = {name: ["必填"] for name, value in values.items() if value is None}
        if missing:
            raise Invalid("提交的数据有误", errors=missing)
        return draws.replace(db_session(), actor=actor(), draw_id=draw_id, **values)


@blp.route("/inspectors/<int:inspector_id>/tasks")
class InspectorTasks(MethodView):
    @allow(*ALL_STAFF)
    @blp.arguments(InspectorTaskQuery, location="query")
    @blp.response(
        200, cursor_page_of(InspectorTaskOut, "InspectorTaskCursorPage"), headers=LINK_HEADER
    )
    def get(self, args, inspector_id):
        """执法检查人员的检查任务（执法检查人员只能查看本人），新的抽取在前；按游标分页
        （下一页见 next 或 Link 头）

        默认为进行中的抽查任务；finished=true 为已结束的，可按抽取年份（year）查看。
        """
        page = draws.inspector_task_page(
            db_session(),
            actor(),
            inspector_id,
            cursor=args["cursor"],
            limit=limit_of(args),
            finished=args["finished"],
            year=args["year"],
        )
        return paged(
            page,
            [
                {
                    "draw_id": t["draw"].id,
                    "plan_id": t["plan"].id,
                    "plan_code": t["plan"].code,
                    "plan_title": t["plan"].title,
                    "fieldwork_start": t["plan"].fieldwork_start,
                    "fieldwork_end": t["plan"].fieldwork_end,
                    "team": team_out(t["row"], t["plan"]),
                }
                for t in page.items
            ],
        )
