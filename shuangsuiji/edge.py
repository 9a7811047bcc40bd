"""The request edge: the per-request database session, who is calling, and access checks.

The request owns the transaction (docs/architecture.md, "Who commits"): services flush, and the
response commits when its status is below 400, or rolls back otherwise.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, g, redirect, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from limits import parse_many
from limits.errors import StorageError
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from . import access
from .db import Database, User, utcnow
from .db.states import TokenScope
from .errors import AppError, Forbidden, NotFound, TooManyRequests, Unauthorized, Unavailable
from .services.accounts import sessions as session_service
from .services.accounts import tokens as token_service
from .sizes import INT_MAX, MAX_PAGE

log = logging.getLogger(__name__)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Pages a user who must change their password may still reach.
PASSWORD_CHANGE_ENDPOINTS = {"console.change_password", "console.logout", "static"}


class IdConverter(IntegerConverter):
    """`<int:…>` app-wide: at most INT_MAX (the integer columns' range), so an id beyond it
    matches no route and answers 404 instead of reaching the database."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits, min, INT_MAX if max is None else max, signed)


# C0 control characters and DEL, except tab, line feed and carriage return (text areas).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_MESSAGE = "不能包含控制字符（如 NUL）"


def _control_in_json(value, path: str, found: dict) -> None:
    if isinstance(value, str):
        if CONTROL_CHARACTERS.search(value):
            found[path or "$"] = [CONTROL_MESSAGE]
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if CONTROL_CHARACTERS.search(str(key)):
                found[where] = [CONTROL_MESSAGE]
            _control_in_json(item, where, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _control_in_json(item, f"{path}[{index}]", found)


def limit_json_body():
    """before_request: an API call with a JSON body may send at most API_MAX_JSON_BYTES (a
    larger one is a 413 naming the limit before anything is read); uploads keep the request
    cap (REQUEST_MAX_BYTES)."""
    if is_api_request() and request.is_json:
        request.max_content_length = current_app.config["API_MAX_JSON_BYTES"]


def refuse_control_characters():
    """before_request: NUL and other control characters in a path segment (404), a query
    parameter, a form field or a JSON string (400, naming each field). PostgreSQL refuses NUL
    in text, and no field of this service has a use for them."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            raise NotFound("页面或对象不存在")
    errors: dict = {}
    for location, values in (("query", request.args), ("form", request.form)):
        for key, value in values.items(multi=True):
            if CONTROL_CHARACTERS.search(key) or CONTROL_CHARACTERS.search(value):
                errors.setdefault(location, {})[key] = [CONTROL_MESSAGE]
    if request.is_json:
        found: dict = {}
        _control_in_json(request.get_json(silent=True), "", found)
        if found:
            errors["json"] = found
    if errors:
        raise AppError("提交的内容含有控制字符（如 NUL），请删除后重试", errors=errors)


def int_arg(name: str, default: int | None = None, *, source=None) -> int | None:
    """A whole-number query (or form) value: `default` when absent or not a number, 404 when
    beyond the integer columns' range (it can name nothing)."""
    raw = (request.args if source is None else source).get(name, "").strip()
    sign = -1 if raw.startswith("-") else 1
    digits = raw.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        return default
    if int(digits) > INT_MAX:
        raise NotFound("页面或对象不存在")
    return sign * int(digits)


def page_arg(name: str = "page") -> int:
    """The page number asked for: 1 when absent or below 1, 404 beyond MAX_PAGE."""
    page = int_arg(name, 1) or 1
    if page > MAX_PAGE:
        raise NotFound("页码超出范围")
    return max(1, page)


# What a browser's URL parser drops or reads as a slash before it resolves a Location.
_URL_IGNORED = str.maketrans("", "", "\t\n\r")
_URL_STRIPPED = "".join(chr(c) for c in range(0x21))


def safe_next(target: str | None, fallback: str) -> str:
    """Where to go after login: a path on this site, or `fallback`. The target is normalised
    first as a browser would (tabs and line breaks dropped, backslashes read as slashes,
    surrounding spaces and control characters stripped), so `/%09/evil.example` or
    `/\\evil.example` cannot become `//evil.example`; what is checked is what is sent."""
    if not target:
        return fallback
    path = target.translate(_URL_IGNORED).replace("\\", "/").strip(_URL_STRIPPED)
    if CONTROL_CHARACTERS.search(path) or not path.startswith("/") or path.startswith("//"):
        return fallback
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return fallback
    return path


def database() -> Database:
    return current_app.extensions["shuangsuiji.db"]


def db_session() -> Session:
    """The request's session: a writing one (BEGIN IMMEDIATE on SQLite) for unsafe methods."""
    if "db_session" not in g:
        g.db_session = database().session(write=request.method not in SAFE_METHODS)
    return g.db_session


def lookup_session() -> Session:
    """The request's session for single-statement public look-ups (autocommit on PostgreSQL:
    no BEGIN/COMMIT round trips). It never writes; it is closed with the request."""
    if "lookup_session" not in g:
        g.lookup_session = database().lookup_session()
    if g.lookup_session is None:  # tests: one connection for the whole request
        return db_session()
    return g.lookup_session


def today() -> dt.date:
    """Today in the deployment's zone (Asia/Shanghai): plans and publication rules use it."""
    return dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def is_api_request() -> bool:
    return request.path.startswith("/api/")


class Principal:
    """The caller: a user reached through a console session or an API token."""

    is_anonymous = False
    is_authenticated = True
    is_active = True

    def __init__(
        self,
        user: User,
        *,
        via: str,
        session_token: str | None = None,
        token_scope: str | None = None,
    ):
        self.user = user
        self.via = via
        self.session_token = session_token
        self.token_scope = token_scope

    def get_id(self) -> str:
        # What Flask-Login keeps in the signed cookie: the server-side session's random id.
        return self.session_token or ""

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def department_id(self) -> int | None:
        return self.user.department_id


@login_manager.user_loader
def load_from_session(token: str):
    if not token:
        return None
    config = current_app.config
    found = session_service.resolve(
        db_session(),
        token,
        idle=dt.timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        absolute=dt.timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]),
    )
    if found is None:
        return None
    user, row = found
    if session_service.needs_touch(row):
        _touch(lambda write: session_service.touch(write, row.id))
    return Principal(user, via="session", session_token=token)


@login_manager.request_loader
def load_from_token(req):
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    found = token_service.resolve(db_session(), header[len("Bearer ") :].strip())
    if found is None:
        return None
    user, token = found
    if token.last_used_at is None or utcnow() - token.last_used_at > dt.timedelta(minutes=5):
        _touch(lambda write: setattr(write.get(type(token), token.id), "last_used_at", utcnow()))
    return Principal(user, via="token", token_scope=token.scope)


def _touch(write_it) -> None:
    """Record a login session's or token's use. A GET's session only reads: a short
    transaction of its own. Other methods write in the request's transaction: on SQLite it
    holds the write lock (BEGIN IMMEDIATE) already, and a second writer would wait for it
    until the busy timeout and fail."""
    if request.method in SAFE_METHODS:
        with database().transaction() as write:
            write_it(write)
    else:
        write_it(db_session())


@login_manager.unauthorized_handler
def unauthorized():
    if is_api_request():
        raise Unauthorized("未登录或令牌无效")
    return redirect(url_for("console.login", next=request.full_path.rstrip("?")))


@functools.lru_cache(maxsize=32)
def _parsed_limits(spec: str) -> tuple:
    return tuple(parse_many(spec))


def check_rate_limit(
    config_key: str,
    scope: str,
    message: str,
    *,
    key: str | None = None,
    fail_open: bool = False,
    unavailable: str = "服务暂时不可用，请稍后再试",
) -> None:
    """Count one hit for `key` (default: the client address) against the limits in
    `config_key` (Flask-Limiter's storage: Redis when configured, so the limit holds across
    gunicorn workers).

    When the storage cannot be reached (Redis down): with `fail_open` the request goes on
    unlimited and a warning is logged; otherwise it is refused with 503 and `unavailable`.
    """
    key = current_app.config["RATELIMIT_KEY_PREFIX"] + (
        (request.remote_addr or "-") if key is None else key
    )
    try:
        for item in _parsed_limits(current_app.config[config_key]):
            if not limiter.limiter.hit(item, scope, key):
                raise TooManyRequests(message)
    except StorageError as exc:
        if not fail_open:
            log.error("rate-limit storage unreachable, %s refused: %s", scope, exc.storage_error)
            raise Unavailable(unavailable) from None
        log.warning("rate-limit storage unreachable, %s not limited: %s", scope, exc.storage_error)


def actor() -> User:
    """The signed-in user (the routes that call this are not public)."""
    return current_user.user


def check_access():
    """before_request: enforce the route's declared rule."""
    if request.endpoint is None:
        return None  # 404/405: let Flask answer
    view = current_app.view_functions[request.endpoint]
    rule = access.rule_for(view, request.method)
    if rule is None:  # start-up refuses this; keep failing closed regardless
        raise Forbidden("该路由未声明访问规则")
    if rule.public:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    principal: Principal = current_user
    if principal.via == "token":
        if request.method not in SAFE_METHODS and principal.token_scope != TokenScope.WRITE:
            raise Forbidden("该令牌为只读令牌")
    elif is_api_request() and request.method not in SAFE_METHODS:
        csrf.protect()  # the API is exempt from CSRFProtect only for token calls
    if principal.user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        if is_api_request():
            raise Forbidden("请先在控制台修改初始密码")
        return redirect(url_for("console.change_password"))
    if not rule.admits(principal.role):
        raise Forbidden("无权访问")
    return None


def discard(savepoint=None) -> None:
    """Drop the work the request's session has done: everything, or what followed `savepoint`
    (a `db_session().begin_nested()` taken before a step that may fail).

    The edge commits every response below 400, so a view that catches an AppError and still
    answers below 400 (a redirect with a flash, a page showing the error with status 200)
    must call this first: whatever the failed service flushed before it raised would
    otherwise be committed. A view answering with the error's status (400 and above) need
    not; the edge rolls back then."""
    if savepoint is not None:
        savepoint.rollback()
        return
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def finish_transaction(response):
    """after_request: commit what the request did, unless it failed."""
    lookup = g.pop("lookup_session", None)
    if lookup is not None:
        lookup.close()
    db = g.pop("db_session", None)
    if db is not None:
        try:
            if response.status_code < 400:
                db.commit()
            else:
                db.rollback()
        finally:
            db.close()
    return response


def discard_transaction(_exc=None):
    """teardown_request: roll back whatever an unhandled error left open."""
    lookup = g.pop("lookup_session", None)
    if lookup is not None:
        lookup.close()
    db = g.pop("db_session", None)
    if db is not None:
        db.rollback()
        db.close()
