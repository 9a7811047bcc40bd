"""Schemas of the statistics API (统计分析)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class StatisticsQuery(Schema):
    year = fields.Integer(
        load_default=None,
        validate=validate.Range(2000, 2099),
        metadata={"description": "起始年度（北京时间），默认今年"},
    )
    to_year = fields.Integer(
        load_default=None,
        validate=validate.Range(2000, 2099),
        metadata={"description": "截止年度（含），默认同起始年度；最多 10 年"},
    )
    department_id = fields.Integer(
        load_default=None,
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "部门（含其下级部门）；默认全部可见部门。须为可见部门"},
    )


class RatesOut(Schema):
    label = fields.String()
    drawn = fields.Integer()
    entered = fields.Integer()
    published = fields.Integer()
    completion = fields.Float(allow_none=True, metadata={"description": "抽查计划完成率"})
    publication = fields.Float(allow_none=True, metadata={"description": "检查结果公示率"})


class TallyOut(Schema):
    label = fields.String()
    visits = fields.Integer(metadata={"description": "已公示户数"})
    problems = fields.Integer(metadata={"description": "发现问题户数"})
    share = fields.Float(allow_none=True)


class LevelOut(Schema):
    department_id = fields.Integer()
    label = fields.String()
    own = fields.Boolean(metadata={"description": "本级（不含下级部门）"})
    below = fields.Integer(metadata={"description": "可下钻的下级部门数"})
    rates = fields.Nested(RatesOut)
    results = fields.Nested(TallyOut)


class CodeOut(Schema):
    code = fields.String()
    label = fields.String()
    visits = fields.Integer()


class EstimateOut(Schema):
    domain = fields.String()
    inspected = fields.Integer()
    problems = fields.Integer()
    rate = fields.Float()
    low = fields.Float(allow_none=True, metadata={"description": "95% 区间下限；样本不足时为 null"})
    high = fields.Float(allow_none=True)
    sufficient = fields.Boolean(metadata={"description": "false：样本不足，不给出区间"})
    exact = fields.Boolean(metadata={"description": "各分类全部检查（普查）"})
    population = fields.Float(metadata={"description": "估计主体数"})
    problem_count = fields.Float(metadata={"description": "估计问题主体数"})
    effective = fields.Float(metadata={"description": "有效样本量"})
    method = fields.String(metadata={"description": "方法与假设"})


class StatisticsOut(Schema):
    year = fields.Integer()
    to_year = fields.Integer()
    department_id = fields.Integer(allow_none=True)
    total = fields.Nested(RatesOut)
    levels = fields.List(fields.Nested(LevelOut))
    by_department = fields.List(fields.Nested(RatesOut))
    by_code = fields.List(fields.Nested(CodeOut))
    by_month = fields.List(fields.Nested(TallyOut))
    by_region = fields.List(fields.Nested(TallyOut))
    by_department_results = fields.List(fields.Nested(TallyOut))
    by_industry = fields.List(fields.Nested(EstimateOut))
    by_region_estimate = fields.List(fields.Nested(EstimateOut))
