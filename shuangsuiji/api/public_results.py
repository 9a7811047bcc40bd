"""The public API of inspection results (一公开), no sign-in: search and a firm's record.

Only published results exist here: a record that is not published answers 404, whatever its id
or USCC. Searches are rate limited per client address (PUBLIC_SEARCH_RATE_LIMIT); a firm's
record by its exact USCC is not: it is one indexed read of public data and USCCs cannot be
enumerated (a rate limit there cost a third of the look-up's throughput; see the README).
"""

from __future__ import annotations

from flask import current_app, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from ..access import public
from ..edge import check_rate_limit, db_session, lookup_session
from ..schemas.common import LINK_HEADER
from ..schemas.results import PublicFirmOut, PublicSearchOut, PublicSearchQuery
from ..services.pages import Keyset
from ..services.results import public_results
from .paging import limit_of, paged

blp = Blueprint(
    "public-results-api",
    __name__,
    url_prefix="/public",
    description="公示的检查结果（无需登录）：按统一社会信用代码或名称查询；不含信用风险分类与个人信息",
)


def _limit() -> None:
    check_rate_limit(
        "PUBLIC_SEARCH_RATE_LIMIT", "public-search", "查询过于频繁，请稍后再试", fail_open=True
    )


@blp.route("/results")
class PublicResults(MethodView):
    @public
    @blp.doc(security=[])
    @blp.arguments(PublicSearchQuery, location="query")
    @blp.response(200, PublicSearchOut, headers=LINK_HEADER)
    def get(self, args):
        """按完整的统一社会信用代码或名称（至少 2 个字）查询有已公示检查结果的企业；
        按名称查询时按统一社会信用代码排列，按游标分页直到最后一家（下一页见 next 或 Link 头）"""
        _limit()
        found = public_results.search(
            db_session(), args["q"], cursor=args["cursor"], limit=limit_of(args)
        )
        page = Keyset(items=found.hits, next=found.next, limit=found.limit)
        body, status, headers = paged(page, found.hits)
        return {**body, "mode": found.mode}, status, headers


@blp.route("/firms/<string(maxlength=18):uscc>")
class PublicFirm(MethodView):
    @public
    @blp.doc(security=[])
    @blp.response(200, PublicFirmOut)
    def get(self, uscc):
        """一户一页：企业已公示的检查结果（部门、事项、日期、结果）"""
        doc = public_results.firm(
            lookup_session(),
            uscc,
            show_inspectors=current_app.config["PUBLIC_SHOW_INSPECTOR_NAMES"],
        )
        # The documented schema, serialised by hand: the dump cost a quarter of the request.
        return jsonify(public_results.firm_json(doc))
