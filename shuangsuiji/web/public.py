"""The public site (一公开): home page and the audit checkpoints. Later issues add content."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from ..access import public
from ..db import Department
from ..edge import db_session
from ..services import audit, registry
from ..services.pages import paginate

bp = Blueprint("public", __name__)


@bp.route("/")
@public
def home():
    return render_template("public/home.html", checkpoints=audit.checkpoints(db_session(), limit=3))


@bp.route("/audit-checkpoints")
@public
def checkpoints():
    return render_template(
        "public/checkpoints.html", checkpoints=audit.checkpoints(db_session(), limit=366)
    )


@bp.route("/matters")
@public
def matters():
    """随机抽查事项清单 (public before the work, 一公开)."""
    department_id = request.args.get("department", type=int)
    q = request.args.get("q", "").strip() or None
    page = paginate(
        db_session(),
        registry.search_matters(None, q=q, department_id=department_id),
        page=max(1, request.args.get("page", 1, type=int)),
        per_page=50,
    )
    departments = db_session().scalars(
        select(Department)
        .where(Department.active.is_(True))
        .order_by(Department.region_code, Department.code)
    )
    return render_template(
        "public/matters.html",
        page=page,
        q=q,
        department_id=department_id,
        departments=list(departments),
    )
