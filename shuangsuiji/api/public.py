"""The public API (一公开), no sign-in: committed plans and the public view of each draw."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from ..access import public
from ..edge import db_session, today
from ..schemas.plans import PublicDrawOut, PublicPlanOut
from ..services.plans import public_plans as publication

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
    @blp.response(200, PublicPlanOut(many=True))
    def get(self):
        """已承诺的抽查任务及各次承诺（快照摘要、SHA256SUMS、承诺时间）"""
        return publication.committed_plans(db_session())


@blp.route("/draws/<int:draw_id>")
class PublicDraw(MethodView):
    @public
    @blp.doc(security=[])
    @blp.response(200, PublicDrawOut)
    def get(self, draw_id):
        """抽取结果的公开部分：承诺与摘要；按计划公示后含随机数、种子和抽中名单"""
        return publication.public_draw(db_session(), draw_id, today())
