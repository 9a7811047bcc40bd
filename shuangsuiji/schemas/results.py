"""Inspection results over the public API: the search query and the published record of a firm.

Output schemas name only what may be published: no credit-risk class, no personal data, no
notes or review comments (inspector names only when the deployment allows them).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class PublicSearchQuery(Schema):
    q = fields.String(
        required=True,
        validate=validate.Length(min=2, max=60),
        metadata={"description": "完整的统一社会信用代码，或企业名称中连续的至少 2 个字"},
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10))


class PublicHitOut(Schema):
    uscc = fields.String()
    name = fields.String()
    inspections = fields.Integer(metadata={"description": "已公示的检查次数"})
    last_checked_on = fields.Date(allow_none=True)


class PublicSearchOut(Schema):
    hits = fields.List(fields.Nested(PublicHitOut))
    page = fields.Integer()
    has_next = fields.Boolean()
    mode = fields.String(metadata={"description": "uscc（按代码精确查询）或 name（按名称）"})


class PublicCodeOut(Schema):
    code = fields.String()
    label = fields.String()


class PublicMatterResultOut(Schema):
    matter_code = fields.String()
    matter = fields.String()
    results = fields.List(fields.Nested(PublicCodeOut))
    methods = fields.List(fields.String())
    measures = fields.List(fields.String())
    follow_up_closed = fields.Boolean()


class PublicInspectionOut(Schema):
    department = fields.String()
    plan_code = fields.String()
    plan_title = fields.String()
    checked_on = fields.Date()
    published_at = fields.DateTime()
    draw_id = fields.Integer()
    matters = fields.List(fields.Nested(PublicMatterResultOut))
    inspectors = fields.List(
        fields.String(), metadata={"description": "检查人员（仅当部署允许公开姓名时）"}
    )


class PublicFirmOut(Schema):
    uscc = fields.String()
    name = fields.String()
    inspections = fields.List(fields.Nested(PublicInspectionOut))
