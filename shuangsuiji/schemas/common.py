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


def attributes(obj, schema: Schema, **extra) -> dict:
    """The object's attributes named by `schema`'s fields, plus `extra`, for a response that
    adds values the model does not hold (a one-time password, a token shown once)."""
    return {**{name: getattr(obj, name) for name in schema.fields}, **extra}
