"""Keyset-paged API lists: the page size asked for, and the `next` URL and `Link` header."""

from __future__ import annotations

from flask import current_app, request, url_for

from ..services.pages import Keyset
from ..sizes import MAX_LIMIT


def limit_of(args: dict) -> int:
    """The page size: `limit` when given, else API_PAGE_SIZE; never beyond MAX_LIMIT."""
    return min(args.get("limit") or current_app.config["API_PAGE_SIZE"], MAX_LIMIT)


def paged(page: Keyset, items: list) -> tuple[dict, int, dict]:
    """The response of one page: {items, next, limit}, with `Link: <next>; rel="next"` when
    there is a next page. The next URL repeats the request's own filters."""
    headers = {}
    next_url = None
    if page.next is not None:
        params = {k: v for k, v in request.args.items() if k not in ("cursor", "limit")}
        next_url = url_for(
            request.endpoint,
            **(request.view_args or {}),
            **params,
            limit=page.limit,
            cursor=page.next,
        )
        headers["Link"] = f'<{next_url}>; rel="next"'
    return {"items": items, "next": next_url, "limit": page.limit}, 200, headers
