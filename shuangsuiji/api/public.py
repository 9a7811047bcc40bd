"""The public API (一公开), no sign-in: committed plans and the public view of each draw."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from ..access import public
from ..edge import check_rate_limit, db_session, today
from ..schemas.common import LINK_HEADER, cursor_page_of
from ..schemas.plans import (
    PublicDrawCheckOut,
    PublicDrawCheckQuery,
    PublicDrawItemOut,
    PublicDrawOut,
    PublicDrawQuery,
    PublicPlanOut,
    PublicPlanQuery,
)
from ..services.plans import public_plans as publication
from .paging import limit_of, paged

blp = Blueprint(
    "public-api",
    __name__,
    url_prefix="/public",
    description="公开信息（无需登录）：承诺与抽取结果；不含分类、区域与检查人员",
)


@blp.route("/plans")
class PublicPlans(MethodView):
    @public
    @blp.doc(security=[])
    @blp.arguments(PublicPlanQuery, location="query")
    @blp.response(200, cursor_page_of(PublicPlanOut, "PublicPlanCursorPage"), headers=LINK_HEADER)
    def get(self, args):
        """已承诺的抽查任务及各次承诺（快照摘要、SHA256SUMS、承诺时间），新的在前，直到第一个；
        可按年份、部门、抽查事项筛选，按游标分页（下一页见 next 或 Link 头）"""
        page = publication.committed_page(
            db_session(),
            cursor=args["cursor"],
            limit=limit_of(args),
            year=args["year"],
            department_id=args["department_id"],
            matter_id=args["matter_id"],
        )
        return paged(page, page.items)


@blp.route("/draws")
class PublicDraws(MethodView):
    @public
    @blp.doc(security=[])
    @blp.arguments(PublicDrawQuery, location="query")
    @blp.response(
        200, cursor_page_of(PublicDrawItemOut, "PublicDrawCursorPage"), headers=LINK_HEADER
    )
    def get(self, args):
        """每一次抽取（含重新抽取及被取代的），新的在前，直到第一次；可按年份、部门、
        抽查事项筛选，按游标分页（下一页见 next 或 Link 头）；详情见 /public/draws/{draw_id}"""
        page = publication.draws_page(
            db_session(),
            today=today(),
            cursor=args["cursor"],
            limit=limit_of(args),
            year=args["year"],
            department_id=args["department_id"],
            matter_id=args["matter_id"],
        )
        return paged(page, page.items)


@blp.route("/draws/<int:draw_id>")
class PublicDraw(MethodView):
    @public
    @blp.doc(security=[])
    @blp.response(200, PublicDrawOut)
    def get(self, draw_id):
        """抽取结果的公开部分：承诺与摘要；按计划公示后含随机数、种子和抽中名单"""
        return publication.public_draw(db_session(), draw_id, today())


@blp.route("/draws/<int:draw_id>/check")
class PublicDrawCheck(MethodView):
    @public
    @blp.doc(security=[])
    @blp.arguments(PublicDrawCheckQuery, location="query")
    @blp.response(200, PublicDrawCheckOut)
    def get(self, args, draw_id):
        """核验一家企业：它是否在本次抽取冻结的名录中，以及它所在组的门槛签号（不含分类）；
        浏览器据此用公开的种子自行计算签号并判断是否抽中。抽取公示后才可查询；按客户端地址限制频率"""
        check_rate_limit(
            "PUBLIC_SEARCH_RATE_LIMIT", "public-search", "查询过于频繁，请稍后再试", fail_open=True
        )
        return publication.draw_check(db_session(), draw_id, args["uscc"], today())
