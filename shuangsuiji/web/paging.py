"""Keyset-paged console and public lists: the cursor asked for and the pager's links."""

from __future__ import annotations

from flask import request, url_for

from ..errors import Invalid
from ..services.pages import Keyset
from ..sizes import MAX_CURSOR


def cursor_arg() -> str | None:
    """The `cursor` of the page asked for (None: the first page)."""
    cursor = request.args.get("cursor", "").strip() or None
    if cursor is not None and len(cursor) > MAX_CURSOR:
        raise Invalid("分页游标无效", errors={"cursor": ["无效的分页游标，请从第一页重新开始"]})
    return cursor


def pager(page: Keyset) -> dict:
    """The links of the pager, with the request's own filters: `first` (when not on the
    first page) and `next` (when there is a next page)."""
    params = {k: v for k, v in request.args.items() if k != "cursor"}
    args = {**(request.view_args or {}), **params}
    return {
        "first": url_for(request.endpoint, **args) if request.args.get("cursor") else None,
        "next": url_for(request.endpoint, **args, cursor=page.next) if page.next else None,
    }
