"""The admin console (/console) and the public site (/), Jinja templates in zh-CN."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask

from .. import refdata
from ..db import LEVEL_LABELS, ROLE_LABELS, states, utcnow
from ..services import scope
from ..services.plans.settings import source_name
from ..services.platform.tasks import LABELS as TASK_LABELS
from ..services.platform.tasks import STATUS_LABELS as TASK_STATUS_LABELS
from . import console, credit, plans, public, public_results, registry, results, statistics
from .help_texts import HELP


def region_label(code: str | None) -> str:
    """A region code with its name beside it ("131024 香河县"; a prefix "1310" is 廊坊市)."""
    if not code:
        return ""
    name = refdata.region_name(code.ljust(6, "0")) if len(code) <= 6 else None
    return f"{code} {name}" if name else code


def register(app: Flask) -> None:
    app.register_blueprint(console.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(registry.bp)
    app.register_blueprint(plans.bp)
    app.register_blueprint(results.bp)
    app.register_blueprint(public_results.bp)
    app.register_blueprint(credit.bp)
    app.register_blueprint(statistics.bp)
    zone = ZoneInfo(app.config["TIMEZONE"])

    def local(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        """Stored UTC, shown in the deployment's zone (Asia/Shanghai)."""
        return value.astimezone(zone).strftime(fmt) if value else ""

    app.jinja_env.filters["local"] = local
    app.jinja_env.globals.update(
        ROLE_LABELS=ROLE_LABELS,
        utcnow=utcnow,
        LEVEL_LABELS=LEVEL_LABELS,
        TASK_LABELS=TASK_LABELS,
        TASK_STATUS_LABELS=TASK_STATUS_LABELS,
        SITE_NAME=app.config["SITE_NAME"],
        HELP=HELP,
        region_label=region_label,
        source_name=source_name,
        # Templates ask scope who may do what and compare states with the enums.
        scope=scope,
        **{enum.__name__: enum for enum in states.ENUMS},
    )
