"""The application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from . import __version__, access, edge, errors_web, settings
from .db import Database, make_engine
from .services.platform import outbox, redaction
from .services.results import credit

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def database_url(app: Flask) -> str:
    url = app.config["DATABASE_URL"]
    if url:
        return url
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(app.instance_path) / 'shuangsuiji.db'}"


def create_app(overrides: dict | None = None, *, database: Database | None = None) -> Flask:
    """Build the app. `database` lets tests hand in a Database bound to their transaction."""
    config = settings.load(overrides)
    try:
        credit.install(credit.CreditSettings.from_config(config))
        outbox.install(outbox.Settings.from_config(config))
        redaction.install_key(config["AUDIT_HMAC_KEY"] or config["SECRET_KEY"])
    except ValueError as exc:
        raise settings.ConfigError(f"configuration refused:\n  - {exc}") from None
    app = Flask(__name__, static_folder="web/static", template_folder="web/templates")
    app.url_map.converters["int"] = edge.IdConverter  # before any route: ids within range
    app.config.update(config)
    app.config.update(
        SESSION_COOKIE_NAME="ssj_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (server-side) session
        MAX_CONTENT_LENGTH=config["REQUEST_MAX_BYTES"],
        RATELIMIT_ENABLED=True,
        # A storage error is raised as limits' StorageError (edge.check_rate_limit decides),
        # and an unreachable Redis is given up after a second instead of hanging the request.
        RATELIMIT_STORAGE_OPTIONS={
            "wrap_exceptions": True,
            "socket_connect_timeout": 1.0,
            "socket_timeout": 1.0,
        },
        API_TITLE="双随机、一公开监管平台 API",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    for key, default in (("UPLOAD_DIR", "uploads"), ("EXPORT_DIR", "exports")):
        if not app.config[key]:
            app.config[key] = str(Path(app.instance_path) / default)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if config["BEHIND_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    db = database or Database(
        make_engine(
            database_url(app),
            echo=config["DATABASE_ECHO"],
            busy_timeout_ms=config["SQLITE_BUSY_TIMEOUT_MS"],
        )
    )
    app.extensions["shuangsuiji.db"] = db

    edge.login_manager.init_app(app)
    edge.login_manager.session_protection = None  # sessions are checked server-side instead
    edge.csrf.init_app(app)
    edge.limiter.init_app(app)
    Talisman(
        app,
        content_security_policy=CSP,
        force_https=config["FORCE_HTTPS"],
        strict_transport_security=config["FORCE_HTTPS"],
        strict_transport_security_max_age=config["HSTS_MAX_AGE"],
        session_cookie_secure=config["SESSION_COOKIE_SECURE"],
        frame_options="DENY",
        referrer_policy="same-origin",
    )

    from .api import register as register_api
    from .web import register as register_web

    register_api(app)
    register_web(app)
    errors_web.register(app)
    app.before_request(edge.limit_json_body)
    app.before_request(edge.refuse_control_characters)
    app.before_request(edge.check_access)
    app.after_request(edge.finish_transaction)
    app.teardown_request(edge.discard_transaction)

    access.mark_endpoint_public(app, "static")
    missing = access.missing_rules(app)
    if missing:
        raise settings.ConfigError(
            "routes without an access rule (declare @public, @signed_in or @allow):\n  - "
            + "\n  - ".join(missing)
        )
    return app
