"""The audit trail."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .. import sizes
from .common import PageQuery


class AuditEntryOut(Schema):
    seq = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String()
    department_id = fields.Integer(allow_none=True)
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    before = fields.String(allow_none=True)
    after = fields.String(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String()


class AuditQuery(PageQuery):
    action = fields.String(validate=validate.Length(max=sizes.CODE_TEXT))
    object_type = fields.String(validate=validate.Length(max=sizes.CODE_TEXT))
    object_id = fields.String(validate=validate.Length(max=sizes.CODE_TEXT))
    actor = fields.String(validate=validate.Length(max=sizes.SHORT_TEXT))


class CheckpointOut(Schema):
    day = fields.Date()
    entry_count = fields.Integer()
    head_hash = fields.String()
    created_at = fields.DateTime()
