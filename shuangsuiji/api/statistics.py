"""统计分析 over the API: the same report as the console page, from the aggregates."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from ..access import OVERSEERS, allow
from ..edge import actor, db_session, today
from ..errors import Invalid, NotFound
from ..schemas.statistics import StatisticsOut, StatisticsQuery
from ..services.results import statistics

blp = Blueprint("statistics", __name__, url_prefix="", description="统计分析")


def _estimates(found) -> list[dict]:
    return [
        {
            **e.__dict__,
            "sufficient": e.sufficient,
            "problem_count": e.problem_count,
            "method": statistics.method_note(e),
        }
        for e in found
    ]


@blp.route("/statistics")
class Statistics(MethodView):
    @allow(*OVERSEERS)
    @blp.arguments(StatisticsQuery, location="query")
    @blp.response(200, StatisticsOut)
    def get(self, args):
        """统计分析：完成率、公示率、检查结果分布、逐级汇总与问题率估计

        由按部门、按月的统计汇总计算，耗时与历史年数无关。指定部门时含其全部可见的下级部门；
        样本不足时估计不给出区间（low/high 为 null）。
        """
        session, user = db_session(), actor()
        year = args["year"] or today().year
        to_year = args["to_year"] or year
        if not year <= to_year < year + statistics.MAX_YEARS:
            raise Invalid(
                "年份范围有误",
                errors={"to_year": [f"截止年份须不早于起始年份，且最多 {statistics.MAX_YEARS} 年"]},
            )
        department_id = args["department_id"]
        if department_id is not None and department_id not in {
            d.id for d in statistics.departments_of(session, user)
        }:
            raise NotFound("部门不存在")
        rep = statistics.report(
            session, user, year=year, to_year=to_year, department_id=department_id
        )
        return {
            "year": rep.year,
            "to_year": rep.to_year,
            "department_id": department_id,
            "total": rep.total,
            "levels": rep.levels,
            "by_department": rep.by_department,
            "by_code": [{"code": c, "label": n, "visits": v} for c, n, v in rep.by_code],
            "by_month": rep.by_month,
            "by_region": rep.by_region,
            "by_department_results": rep.by_department_results,
            "by_industry": _estimates(rep.by_industry),
            "by_region_estimate": _estimates(rep.by_region_estimate),
        }
