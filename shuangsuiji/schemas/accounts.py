"""Departments, users, tokens and the caller."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..db import DepartmentKind, DepartmentLevel
from ..db.states import Role, TokenScope
from .common import EXISTING_DEPARTMENT, CursorQuery, whole

KINDS = list(DepartmentKind)
LEVELS = list(DepartmentLevel)
ROLES = list(Role)


class DepartmentOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    short_name = fields.String()
    kind = fields.String()
    level = fields.String()
    region_code = fields.String()
    parent_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    created_at = fields.DateTime()


class DepartmentIn(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{2,32}$"))
    name = fields.String(required=True, validate=validate.Length(min=2, max=100))
    short_name = fields.String(load_default="", validate=validate.Length(max=30))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    region_code = fields.String(required=True, validate=validate.Regexp(r"^[1-9]\d{5}$"))
    parent_id = whole(
        load_default=None,
        allow_none=True,
        metadata={"description": "上级部门；" + EXISTING_DEPARTMENT},
    )
    active = fields.Boolean(load_default=True)


class DepartmentPatch(Schema):
    name = fields.String(validate=validate.Length(min=2, max=100))
    short_name = fields.String(validate=validate.Length(max=30))
    kind = fields.String(validate=validate.OneOf(KINDS))
    region_code = fields.String(validate=validate.Regexp(r"^[1-9]\d{5}$"))
    parent_id = whole(allow_none=True, metadata={"description": "上级部门；" + EXISTING_DEPARTMENT})
    active = fields.Boolean()


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    email = fields.String(allow_none=True)
    role = fields.String()
    department_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    must_change_password = fields.Boolean()
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(allow_none=True)


class UserCreated(UserOut):
    initial_password = fields.String(metadata={"description": "一次性初始密码，仅此一次返回"})


class UserIn(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{3,64}$"))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    department_id = whole(
        load_default=None, allow_none=True, metadata={"description": EXISTING_DEPARTMENT}
    )


class UserPatch(Schema):
    display_name = fields.String(validate=validate.Length(min=1, max=64))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    role = fields.String(validate=validate.OneOf(ROLES))
    department_id = whole(allow_none=True, metadata={"description": EXISTING_DEPARTMENT})
    active = fields.Boolean()


class UserQuery(CursorQuery):
    department_id = whole(metadata={"description": EXISTING_DEPARTMENT})


class TokenOut(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    scope = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)


class TokenCreated(TokenOut):
    token = fields.String(metadata={"description": "令牌全文，仅此一次返回"})


class TokenIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    scope = fields.String(load_default=TokenScope.READ, validate=validate.OneOf(list(TokenScope)))
    days = fields.Integer(load_default=90, validate=validate.Range(min=1, max=3650))


class MeOut(Schema):
    user = fields.Nested(UserOut)
    department = fields.Nested(DepartmentOut, allow_none=True)
    via = fields.String()
