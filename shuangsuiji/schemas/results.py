"""Inspection results over the public API: the search query and the published record of a firm.

Output schemas name only what may be published: no credit-risk class, no personal data, no
notes or review comments (inspector names only when the deployment allows them).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .. import sizes
from .common import CursorQuery


class PublicSearchQuery(CursorQuery):
    q = fields.String(
        required=True,
        validate=validate.Length(min=2, max=60),
        metadata={"description": "完整的统一社会信用代码，或企业名称中连续的至少 2 个字"},
    )


class PublicHitOut(Schema):
    uscc = fields.String()
    name = fields.String()
    inspections = fields.Integer(metadata={"description": "已公示的检查次数"})
    last_checked_on = fields.Date(allow_none=True)


class PublicSearchOut(Schema):
    """A keyset page of the search, as every cursor-paged list: items, next, limit."""

    items = fields.List(fields.Nested(PublicHitOut))
    next = fields.String(
        allow_none=True,
        metadata={"description": "下一页的 URL（同样的查询）；最后一页为 null"},
    )
    limit = fields.Integer(metadata={"description": "本页的最大条数"})
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


# -- staff: entry and review ---------------------------------------------------------------


class MatterResultIn(Schema):
    """One matter's result. Codes, methods and measures are checked by the service."""

    codes = fields.List(
        fields.String(validate=validate.Length(max=sizes.CODE_TEXT)),
        load_default=list,
        validate=validate.Length(max=sizes.MAX_CODES),
        metadata={"description": "检查结果代码"},
    )
    methods = fields.List(
        fields.String(validate=validate.Length(max=sizes.CODE_TEXT)),
        load_default=list,
        validate=validate.Length(max=sizes.MAX_CODES),
        metadata={"description": "检查方式：field、document、opinion、testing、online、agency"},
    )
    measures = fields.List(
        fields.String(validate=validate.Length(max=sizes.CODE_TEXT)),
        load_default=list,
        validate=validate.Length(max=sizes.MAX_CODES),
        metadata={"description": "后续处置：none、feedback、order、transfer、notify、other"},
    )
    measure_other = fields.String(
        load_default="",
        validate=validate.Length(max=sizes.SHORT_TEXT),
        metadata={"description": "“其他”措施说明"},
    )
    closed = fields.Boolean(load_default=False, metadata={"description": "后续处置已办结"})
    notes = fields.String(
        load_default="",
        validate=validate.Length(max=sizes.NOTE_TEXT),
        metadata={"description": "备注（不公示）"},
    )


class ResultIn(Schema):
    checked_on = fields.Date(allow_none=True, load_default=None)
    notes = fields.String(
        load_default="",
        validate=validate.Length(max=sizes.NOTE_TEXT),
        metadata={"description": "检查情况说明（不公示）"},
    )
    matters = fields.Dict(
        keys=fields.String(validate=validate.Length(max=sizes.CODE_TEXT)),
        values=fields.Nested(MatterResultIn),
        load_default=dict,
        metadata={"description": "抽查事项 id → 结果；未给出的事项不变，空结果清除该事项"},
    )


class ReviewIn(Schema):
    # Checked by the service (after the caller's right to review): approve, return or reject.
    decision = fields.String(
        load_default="",
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={"description": "approve 通过并公示、return 退回、reject 不通过"},
    )
    comment = fields.String(
        load_default="",
        validate=validate.Length(max=sizes.NOTE_TEXT),
        metadata={"description": "审核意见（退回、不通过时必填）"},
    )


class MatterResultOut(Schema):
    matter_id = fields.Integer()
    codes = fields.List(fields.String())
    methods = fields.List(fields.String())
    measures = fields.List(fields.String())
    measure_other = fields.String(allow_none=True)
    closed = fields.Boolean()
    notes = fields.String(allow_none=True)


class AttachmentOut(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_at = fields.DateTime()


class ResultOut(Schema):
    id = fields.Integer(allow_none=True)
    draw_id = fields.Integer()
    position = fields.Integer()
    uscc = fields.String()
    name = fields.String()
    status = fields.String(
        metadata={"description": "draft、submitted、returned、rejected、published"}
    )
    status_label = fields.String()
    checked_on = fields.Date(allow_none=True)
    notes = fields.String(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    review_comment = fields.String(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    matters = fields.List(fields.Nested(MatterResultOut))
    attachments = fields.List(fields.Nested(AttachmentOut))
    can_enter = fields.Boolean()
    can_review = fields.Boolean()
