"""The public result look-up (一公开): search by USCC or name, and a page per firm."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..access import public
from ..edge import check_rate_limit, db_session, lookup_session
from ..errors import Invalid
from ..services.pages import Keyset
from ..services.results import public_results
from .paging import cursor_arg, pager

bp = Blueprint("public_results", __name__)

LIMIT_MESSAGE = "查询过于频繁，请稍后再试"


def limit_searches() -> None:
    """Per client address, across workers when the limiter's storage is Redis."""
    check_rate_limit("PUBLIC_SEARCH_RATE_LIMIT", "public-search", LIMIT_MESSAGE, fail_open=True)


@bp.route("/public/results")
@public
def search():
    """检查结果查询: exact USCC, or at least two characters of the name; page after page by
    USCC, every firm with a published result reachable."""
    q = public_results.normalise_query(request.args.get("q"))
    found, error, links = None, None, None
    if q:
        limit_searches()
        try:
            found = public_results.search(
                db_session(), q, cursor=cursor_arg(), limit=public_results.PER_PAGE
            )
        except Invalid as exc:
            error = exc
        else:
            links = pager(Keyset(items=found.hits, next=found.next, limit=found.limit))
    page = render_template(
        "public/results.html",
        q=q,
        found=found,
        links=links,
        error=error,
        per_page=public_results.PER_PAGE,
    )
    return page, (error.status if error else 200)


@bp.route("/public/firms/<string(maxlength=18):uscc>")
@public
def firm(uscc: str):
    """一户一页: a firm's published inspections (by exact USCC: not rate limited, see the API)."""
    doc = public_results.firm(
        lookup_session(), uscc, show_inspectors=current_app.config["PUBLIC_SHOW_INSPECTOR_NAMES"]
    )
    return render_template("public/firm.html", firm=doc)
