"""Pieces shared by several resources."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..sizes import INT_MAX, MAX_CURSOR, MAX_LIMIT


def whole(*, minimum: int = 0, maximum: int = INT_MAX, **kwargs) -> fields.Integer:
    """An input integer an integer column can hold (ids, counts): beyond it is a 422, never a
    database error. The bounds are in the OpenAPI document."""
    return fields.Integer(validate=validate.Range(min=minimum, max=maximum), **kwargs)


EXISTING_DEPARTMENT = "须为已存在的部门的 id（可用 GET /api/v1/departments 查询）"
OWN_DEPARTMENT = "所属部门（系统管理员使用；默认为本人部门）；" + EXISTING_DEPARTMENT


class CursorQuery(Schema):
    """Keyset paging: `cursor` is the `next` of the previous page, opaque to clients."""

    cursor = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=MAX_CURSOR),
        metadata={"description": "上一页响应中的 next 所带的游标（不透明）；省略为第一页"},
    )
    limit = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"每页条数（默认 50，最多 {MAX_LIMIT}）"},
    )


LINK_HEADER = {
    "Link": {
        "description": '下一页：`<URL>; rel="next"`（最后一页没有）',
        "schema": {"type": "string"},
    }
}


def cursor_page_of(item_schema, name: str) -> type[Schema]:
    """A keyset-paged list: the items, and the URL of the next page (null on the last)."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "next": fields.String(
                allow_none=True,
                metadata={"description": "下一页的 URL（同样的筛选条件）；最后一页为 null"},
            ),
            "limit": fields.Integer(metadata={"description": "本页的最大条数"}),
        },
        name=name,
    )


class TaskOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    progress_done = fields.Integer()
    progress_total = fields.Integer()
    message = fields.String()
    result = fields.Raw(allow_none=True)
    error = fields.String(allow_none=True)
    download_url = fields.String(
        allow_none=True,
        metadata={
            "description": "The file a finished export wrote, to GET with the same "
            "credentials; null for other tasks"
        },
    )
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


def attributes(obj, schema: Schema, **extra) -> dict:
    """The object's attributes named by `schema`'s fields, plus `extra`, for a response that
    adds values the model does not hold (a one-time password, a token shown once)."""
    return {**{name: getattr(obj, name) for name in schema.fields if name not in extra}, **extra}
