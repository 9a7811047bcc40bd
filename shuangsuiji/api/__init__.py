"""The REST API under /api/v1 (flask-smorest), its OpenAPI document and health checks."""

from __future__ import annotations

from flask import Flask, render_template
from flask_smorest import Api
from sqlalchemy import text

from .. import access
from ..edge import csrf, database
from . import (
    accounts,
    audit,
    credit,
    plans,
    public,
    public_results,
    registry,
    results,
    statistics,
    tasks,
)

api = Api()


def register(app: Flask) -> None:
    api.init_app(app)
    for blueprint in (
        accounts.blp,
        audit.blp,
        registry.blp,
        tasks.blp,
        plans.blp,
        public.blp,
        public_results.blp,
        results.blp,
        credit.blp,
        statistics.blp,
    ):
        csrf.exempt(blueprint)  # token calls; cookie calls are CSRF-checked in edge.check_access
        api.register_blueprint(blueprint, url_prefix="/api/v1" + blueprint.url_prefix)
    access.mark_endpoint_public(app, "api-docs.openapi_json")
    app.add_url_rule("/api/docs", "api_docs", swagger_ui)
    app.add_url_rule("/livez", "livez", livez)
    app.add_url_rule("/readyz", "readyz", readyz)


@access.public
def swagger_ui():
    """Swagger UI, served from our own static files (no CDN)."""
    return render_template("api_docs.html")


@access.public
def livez():
    return {"status": "ok"}


@access.public
def readyz():
    try:
        with database().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}
