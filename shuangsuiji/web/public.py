"""The public site (一公开): home page, audit checkpoints, matters, plans and draws."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request

from ..access import public
from ..edge import db_session, int_arg, today
from ..services.accounts import departments as department_service
from ..services.pages import count_capped
from ..services.plans import public_plans as publication
from ..services.platform import audit
from ..services.registry import checklists
from ..services.registry import records as registry
from .paging import cursor_arg, pager

bp = Blueprint("public", __name__)

PUBLIC_PLANS_PER_PAGE = 50
PUBLIC_DRAWS_PER_PAGE = 50
MATTERS_PER_PAGE = 50


@bp.route("/")
@public
def home():
    return render_template("public/home.html", checkpoints=audit.checkpoints(db_session(), limit=3))


PUBLIC_CHECKPOINTS_PER_PAGE = 100


@bp.route("/audit-checkpoints")
@public
def checkpoints():
    """Every day's checkpoint, newest first, page by page back to the first day."""
    page = audit.checkpoint_page(
        db_session(), cursor=cursor_arg(), limit=PUBLIC_CHECKPOINTS_PER_PAGE
    )
    return render_template("public/checkpoints.html", checkpoints=page.items, links=pager(page))


@bp.route("/matters")
@public
def matters():
    """随机抽查事项清单 (public before the work, 一公开)."""
    session = db_session()
    department_id = int_arg("department")
    q = request.args.get("q", "").strip() or None
    filters = {"q": q, "department_id": department_id}
    cursor = cursor_arg()
    page = registry.page(session, None, "matters", filters, cursor=cursor, limit=MATTERS_PER_PAGE)
    count = None
    if cursor is None:  # the first page says how many (the list is short: a capped count)
        count = count_capped(session, registry.query_of(None, "matters", filters), 10_000)
    departments = department_service.list_all(session, active_only=True, by_region=True)
    return render_template(
        "public/matters.html",
        matters=page.items,
        checklists=checklists.current_of_matters(session, [m.id for m in page.items]),
        method_label=checklists.method_label,
        links=pager(page),
        count=count,
        q=q,
        department_id=department_id,
        departments=list(departments),
    )


@bp.route("/public/plans")
@public
def plans():
    """已承诺的抽查任务: each commitment is public the moment it is made, and stays reachable
    page by page back to the first one; filtered by year, department and matter."""
    session = db_session()
    year, department_id, matter_id = int_arg("year"), int_arg("department"), int_arg("matter")
    page = publication.committed_page(
        session,
        cursor=cursor_arg(),
        limit=PUBLIC_PLANS_PER_PAGE,
        year=year,
        department_id=department_id,
        matter_id=matter_id,
    )
    first = publication.first_year(session) or today().year
    return render_template(
        "public/plans.html",
        plans=page.items,
        links=pager(page),
        per_page=PUBLIC_PLANS_PER_PAGE,
        **_filters(session, first, year, department_id, matter_id),
    )


def _filters(session, first_year, year, department_id, matter_id) -> dict:
    """The year, department and matter filters the public plan and draw lists share."""
    return {
        "year": year,
        "years": range(today().year, first_year - 1, -1),
        "department_id": department_id,
        "departments": department_service.list_all(session, by_region=True),
        "matter_id": matter_id,
        "matters": registry.matters_for_plan(session, department_id, []) if department_id else [],
    }


@bp.route("/public/draws")
@public
def draws():
    """抽取结果: every draw, newest first, page by page back to the first one; filtered by
    year, department and matter; each row links to the draw's own page."""
    session = db_session()
    year, department_id, matter_id = int_arg("year"), int_arg("department"), int_arg("matter")
    page = publication.draws_page(
        session,
        today=today(),
        cursor=cursor_arg(),
        limit=PUBLIC_DRAWS_PER_PAGE,
        year=year,
        department_id=department_id,
        matter_id=matter_id,
    )
    first = publication.first_draw_year(session) or today().year
    return render_template(
        "public/draws.html",
        draws=page.items,
        links=pager(page),
        per_page=PUBLIC_DRAWS_PER_PAGE,
        **_filters(session, first, year, department_id, matter_id),
    )


@bp.route("/public/draws/<int:draw_id>")
@public
def draw(draw_id: int):
    """One draw's public page, with the commands that let anyone check it."""
    doc = publication.public_draw(db_session(), draw_id, today())
    commands = {"sums": shell_printf(doc["sha256sums"]) + " > SHA256SUMS && sha256sum SHA256SUMS"}
    if doc["published"]:
        commands["seed"] = shell_printf(doc["seed_text"]) + " | sha256sum"
    times = {k: dt.datetime.fromisoformat(doc[k]) for k in ("committed_at", "drawn_at")}
    return render_template("public/draw.html", d=doc | times, commands=commands)


def shell_printf(text: str) -> str:
    """A POSIX shell `printf '…'` command that prints `text` exactly (format-string escapes)."""
    body = text.replace("\\", "\\\\").replace("%", "%%").replace("\n", "\\n")
    return "printf '" + body.replace("'", "'\\''") + "'"
