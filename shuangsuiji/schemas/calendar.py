"""The working-day calendar's overrides."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class WorkdayOverrideIn(Schema):
    date = fields.Date(
        required=True,
        error_messages={"required": "请填写日期", "invalid": "日期格式应为 YYYY-MM-DD"},
    )
    is_workday = fields.Boolean(required=True, error_messages={"required": "请选择上班或放假"})
    note = fields.String(
        load_default="",
        validate=validate.Length(max=200, error="说明不能超过 200 字"),
    )
