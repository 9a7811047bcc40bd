"""The audit trail."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .. import sizes
from .common import CursorQuery


class AuditEntryOut(Schema):
    seq = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String()
    department_id = fields.Integer(allow_none=True)
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    action_label = fields.String(metadata={"description": "操作的中文名称"})
    object_label = fields.String(metadata={"description": "对象类型的中文名称"})
    before = fields.String(
        allow_none=True,
        metadata={
            "description": "变更前（JSON）；身份证号、手机号码、电子邮箱为遮蔽值及其密钥哈希 "
            '{"masked", "hmac"}'
        },
    )
    after = fields.String(allow_none=True, metadata={"description": "变更后（JSON），同上"})
    redacted = fields.Boolean(
        metadata={
            "description": "true：该条目写入时含明文敏感信息，此处显示时已遮蔽；before/after "
            "与存储内容不同，不能据此复算哈希（服务器端校验整条链不受影响）"
        }
    )
    prev_hash = fields.String()
    hash = fields.String()


class AuditQuery(CursorQuery):
    action = fields.String(validate=validate.Length(max=sizes.CODE_TEXT))
    object_type = fields.String(validate=validate.Length(max=sizes.CODE_TEXT))
    object_id = fields.String(validate=validate.Length(max=sizes.CODE_TEXT))
    actor = fields.String(validate=validate.Length(max=sizes.SHORT_TEXT))
    hmac = fields.String(
        validate=validate.Regexp(r"^[0-9a-f]{64}$"),
        metadata={
            "description": "只列出涉及某一身份证号、手机号码或电子邮箱的条目：该信息的密钥哈希"
            '（条目中 {"masked", "hmac"} 的 hmac）'
        },
    )


class CheckpointOut(Schema):
    day = fields.Date()
    entry_count = fields.Integer()
    head_hash = fields.String()
    created_at = fields.DateTime()
