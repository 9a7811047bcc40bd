"""Pieces shared by several resources."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=None, validate=validate.Range(min=1, max=500))


class TaskOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    progress_done = fields.Integer()
    progress_total = fields.Integer()
    message = fields.String()
    result = fields.Raw(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
