"""The public site (一公开): home page and the audit checkpoints. Later issues add content."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..access import public
from ..edge import db_session
from ..services import audit

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
