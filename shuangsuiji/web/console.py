"""The admin console: login, departments, users, API tokens, the working-day calendar, the audit
log and task progress."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from ..access import ADMINS, ALL_STAFF, OVERSEERS, allow, public, signed_in
from ..db import DepartmentKind
from ..db.states import ParticipationStatus, Role
from ..edge import (
    Principal,
    actor,
    check_rate_limit,
    db_session,
    int_arg,
    page_arg,
    safe_next,
    today,
)
from ..errors import AppError
from ..schemas.accounts import DepartmentIn, DepartmentPatch, TokenIn, UserIn, UserPatch
from ..schemas.calendar import WorkdayOverrideIn
from ..services import scope
from ..services.accounts import departments, sessions, tokens, users
from ..services.plans import participation
from ..services.platform import audit, audit_actions, outbox, redaction, tasks, workdays
from ..services.registry import records
from ..services.results import deadlines, waiting
from .forms import load_form
from .paging import cursor_arg, pager

bp = Blueprint("console", __name__, url_prefix="/console")


def _login_username() -> str:
    return (request.form.get("username") or "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("console.dashboard"))
        return render_template("console/login.html")
    try:
        _check_login_limits()
        user, token = sessions.login(
            db_session(),
            username=(request.form.get("username") or "").strip(),
            password=request.form.get("password") or "",
            remote_addr=request.remote_addr,
            user_agent=request.headers.get("User-Agent"),
        )
    except AppError as exc:
        return render_template("console/login.html", error=exc.message), exc.status
    login_user(Principal(user, via="session", session_token=token))
    if user.must_change_password:
        return redirect(url_for("console.change_password"))
    return redirect(safe_next(request.args.get("next"), url_for("console.dashboard")))


LOGIN_UNAVAILABLE = "登录暂时不可用：登录限流服务无法连接，为防止密码猜测已暂停登录，请稍后再试"


def _check_login_limits() -> None:
    """Login throttling: per client address and per user name (Flask-Limiter's storage).
    Fails closed: with the storage unreachable nobody logs in (503) rather than anyone
    guessing passwords unthrottled."""
    message = "登录尝试次数过多，请稍后再试"
    for config_key, limit_scope, key in (
        ("LOGIN_RATE_LIMIT", "login-ip", None),
        ("LOGIN_USER_RATE_LIMIT", "login-user", _login_username()),
    ):
        check_rate_limit(config_key, limit_scope, message, key=key, unavailable=LOGIN_UNAVAILABLE)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    sessions.end(db_session(), token=current_user.session_token, reason="logout", actor=actor())
    logout_user()
    flash("已退出登录")
    return redirect(url_for("console.login"))


@bp.route("/")
@signed_in
def dashboard():
    user = actor()
    session = db_session()
    day = today()
    progress = deadlines.tasks_of(
        session, user, today=day, rules=deadlines.Rules.from_config(current_app.config)
    )
    mine = records.inspectors_of_account(session, user) if scope.is_inspector(user) else []
    return render_template(
        "console/dashboard.html",
        user=user,
        today=day,
        progress=progress,
        # What waits for this user, as counts linking to the lists (never the rows).
        waiting=waiting.for_user(
            session, user, today=day, tasks=progress, inspector_id=mine[0].id if mine else None
        ),
        counts=waiting.task_counts(progress),
        # The system administrator sees every department's tasks: counts by stage, each
        # linking to the list, instead of a row per task.
        task_rows=not scope.is_sysadmin(user),
        STAGES=deadlines.STAGES,
        STATES=deadlines.STATES,
        missing_years=[] if scope.is_inspector(user) else workdays.missing_years(day),
        recent_tasks=tasks.list_visible(session, user, limit=10),
        department_count=len(departments.list_visible(session, user)),
        user_count=users.count_visible(session, user),
        # A joint plan waits for this department's answer (platform-wide ones are not listed
        # to the system administrator and the auditors, who answer for nobody in particular).
        pending_requests=participation.requests_for(
            session, user, status=ParticipationStatus.PENDING
        )
        if scope.is_dept_admin(user)
        else [],
        # What waits in the outbox, per channel (an external gateway may never come for it).
        outbox_backlog=outbox.backlog(session, user) if scope.is_sysadmin(user) else [],
    )


TASKS_PER_PAGE = 50


@bp.route("/deadlines")
@signed_in
def deadline_list():
    """任务期限: the open tasks the 工作台 counts, by the state of their nearest deadline
    (?state=) or their stage (?stage=), most urgent first; the open tasks only, never the
    history, 50 a page."""
    user = actor()
    day = today()
    state = request.args.get("state") or None
    stage = request.args.get("stage") or None
    progress = deadlines.tasks_of(
        db_session(), user, today=day, rules=deadlines.Rules.from_config(current_app.config)
    )
    shown = [
        t
        for t in progress
        if (state is None or t.worst == state) and (stage is None or t.stage == stage)
    ]
    page = page_arg()
    return render_template(
        "console/deadlines.html",
        today=day,
        tasks=shown[(page - 1) * TASKS_PER_PAGE : page * TASKS_PER_PAGE],
        total=len(shown),
        page=page,
        pages=max(1, -(-len(shown) // TASKS_PER_PAGE)),
        state=state,
        stage=stage,
        STAGES=deadlines.STAGES,
        STATES=deadlines.STATES,
    )


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def change_password():
    if request.method == "GET":
        return render_template("console/password.html")
    if request.form.get("new_password") != request.form.get("confirm_password"):
        return render_template("console/password.html", error="两次输入的新密码不一致"), 422
    try:
        users.change_password(
            db_session(),
            actor=actor(),
            current_password=request.form.get("current_password") or "",
            new_password=request.form.get("new_password") or "",
            min_length=current_app.config["PASSWORD_MIN_LENGTH"],
        )
    except AppError as exc:
        return render_template("console/password.html", error=exc.message), exc.status
    # Every session of this user ended with the change; open a fresh one for this browser.
    user, token = sessions.login(
        db_session(),
        username=actor().username,
        password=request.form["new_password"],
        remote_addr=request.remote_addr,
        user_agent=request.headers.get("User-Agent"),
    )
    login_user(Principal(user, via="session", session_token=token))
    flash("密码已修改，其他设备上的登录已全部失效")
    return redirect(url_for("console.dashboard"))


# --- departments ------------------------------------------------------------------------------


def _department_choices():
    return departments.list_all(db_session(), by_region=True)


@bp.route("/departments")
@allow(*ALL_STAFF)
def department_list():
    return render_template(
        "console/departments.html", departments=departments.list_visible(db_session(), actor())
    )


@bp.route("/departments/new", methods=["GET", "POST"])
@allow(Role.SYSADMIN)
def department_new():
    form = {"kinds": [k.value for k in DepartmentKind], "parents": _department_choices()}
    if request.method == "GET":
        return render_template("console/department_form.html", department=None, **form)
    try:
        department = departments.create(
            db_session(), actor=actor(), values=load_form(DepartmentIn())
        )
    except AppError as exc:
        return render_template(
            "console/department_form.html",
            department=None,
            error=exc,
            values=request.form,
            **form,
        ), exc.status
    flash(f"已新建部门：{department.name}")
    return redirect(url_for("console.department_list"))


@bp.route("/departments/<int:department_id>/edit", methods=["GET", "POST"])
@allow(Role.SYSADMIN)
def department_edit(department_id: int):
    department = departments.get(db_session(), actor(), department_id)
    form = {"kinds": [k.value for k in DepartmentKind], "parents": _department_choices()}
    if request.method == "GET":
        return render_template("console/department_form.html", department=department, **form)
    try:
        departments.update(
            db_session(),
            actor=actor(),
            department_id=department_id,
            values=load_form(DepartmentPatch()),
        )
    except AppError as exc:
        return render_template(
            "console/department_form.html",
            department=department,
            error=exc,
            values=request.form,
            **form,
        ), exc.status
    flash("部门信息已保存")
    return redirect(url_for("console.department_list"))


# --- users ------------------------------------------------------------------------------------


@bp.route("/users")
@allow(*ALL_STAFF)
def user_list():
    """By username, a page at a time; filtered by department for those who see several."""
    user = actor()
    department_id = int_arg("department") if scope.reads_all(user) else None
    page = users.page_visible(
        db_session(), user, department_id=department_id, cursor=cursor_arg(), limit=USERS_PER_PAGE
    )
    return render_template(
        "console/users.html",
        users=page.items,
        links=pager(page),
        department_id=department_id,
        departments=departments.list_visible(db_session(), user) if scope.reads_all(user) else [],
    )


def _user_form_context():
    return {"departments": departments.list_visible(db_session(), actor())}


@bp.route("/users/new", methods=["GET", "POST"])
@allow(*ADMINS)
def user_new():
    if request.method == "GET":
        return render_template("console/user_form.html", user=None, **_user_form_context())
    try:
        values = load_form(UserIn())
        values["department_id"] = scope.own_department(actor(), values.get("department_id"))
        user, password = users.create(
            db_session(),
            actor=actor(),
            values=values,
            password=None,
            min_length=current_app.config["PASSWORD_MIN_LENGTH"],
        )
    except AppError as exc:
        return render_template(
            "console/user_form.html",
            user=None,
            error=exc,
            values=request.form,
            **_user_form_context(),
        ), exc.status
    return render_template("console/user_created.html", user=user, password=password)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@allow(*ADMINS)
def user_edit(user_id: int):
    user = users.get(db_session(), actor(), user_id)
    if request.method == "GET":
        return render_template("console/user_form.html", user=user, **_user_form_context())
    try:
        users.update(db_session(), actor=actor(), user_id=user_id, values=load_form(UserPatch()))
    except AppError as exc:
        return render_template(
            "console/user_form.html",
            user=user,
            error=exc,
            values=request.form,
            **_user_form_context(),
        ), exc.status
    flash("用户信息已保存")
    return redirect(url_for("console.user_list"))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@allow(*ADMINS)
def user_reset_password(user_id: int):
    password = users.reset_password(db_session(), actor=actor(), user_id=user_id)
    user = users.get(db_session(), actor(), user_id)
    return render_template("console/user_created.html", user=user, password=password, reset=True)


# --- API tokens -------------------------------------------------------------------------------


@bp.route("/tokens", methods=["GET", "POST"])
@signed_in
def token_list():
    created = None
    status = 200
    error = None
    if request.method == "POST":
        try:
            token, secret = tokens.issue(
                db_session(),
                actor=actor(),
                max_days=current_app.config["API_TOKEN_MAX_DAYS"],
                **load_form(TokenIn()),
            )
            created = {"token": token, "secret": secret}
        except AppError as exc:
            error, status = exc, exc.status
    page = tokens.page_own(db_session(), actor(), cursor=cursor_arg(), limit=TOKENS_PER_PAGE)
    return render_template(
        "console/tokens.html",
        tokens=page.items,
        links=pager(page),
        created=created,
        error=error,
    ), status


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@signed_in
def token_revoke(token_id: int):
    tokens.revoke(db_session(), actor=actor(), token_id=token_id)
    flash("令牌已吊销")
    return redirect(url_for("console.token_list"))


# --- the working-day calendar ----------------------------------------------------------------


@bp.route("/workdays", methods=["GET", "POST"])
@allow(Role.SYSADMIN)
def workday_list():
    error, status = None, 200
    if request.method == "POST":
        try:
            override = workdays.add_override(
                db_session(), actor=actor(), **load_form(WorkdayOverrideIn())
            )
        except AppError as exc:
            error, status = exc, exc.status
        else:
            flash(f"已添加 {override.date.isoformat()} 的调整")
            return redirect(url_for("console.workday_list"))
    return render_template(
        "console/workdays.html",
        overrides=workdays.list_overrides(db_session(), actor()),
        packaged=workdays.Calendar(),
        missing_years=workdays.missing_years(today()),
        last_year=workdays.CC_LAST_YEAR,
        error=error,
        values=request.form,
    ), status


@bp.route("/workdays/<int:override_id>/delete", methods=["POST"])
@allow(Role.SYSADMIN)
def workday_delete(override_id: int):
    workdays.delete_override(db_session(), actor=actor(), override_id=override_id)
    flash("已删除该调整")
    return redirect(url_for("console.workday_list"))


# --- audit log and tasks ----------------------------------------------------------------------


AUDIT_PER_PAGE = 50
USERS_PER_PAGE = 50
TOKENS_PER_PAGE = 50


@bp.route("/audit")
@allow(*OVERSEERS)
def audit_log():
    """Newest first, page by page after a cursor: no page counts the whole trail."""
    names = ("action", "object_type", "object_id", "actor_name", "hmac")
    filters = {k: request.args.get(k, "").strip() or None for k in names}
    entries = audit.page_entries(
        db_session(), actor(), cursor=cursor_arg(), limit=AUDIT_PER_PAGE, **filters
    )
    return render_template(
        "console/audit.html",
        links=pager(entries),
        entries=[audit.readable(e) for e in entries.items],
        actions=audit_actions.ACTIONS,
        object_types=audit_actions.OBJECT_TYPES,
        filters=filters,
        checkpoints=audit.checkpoints(db_session(), limit=7),
    )


@bp.route("/audit/sensitive", methods=["POST"])
@allow(*OVERSEERS)
def audit_sensitive():
    """Look entries up by an ID number, mobile number or e-mail address: the value is posted,
    never put in a URL; the list is then filtered by its keyed HMAC."""
    found = redaction.search_fingerprint(request.form.get("value", ""))
    if found is None:
        flash("请输入身份证号、手机号码或电子邮箱", "error")
        return redirect(url_for("console.audit_log"))
    return redirect(url_for("console.audit_log", hmac=found))


@bp.route("/audit/verify", methods=["POST"])
@allow(Role.SYSADMIN, Role.AUDITOR)
def audit_verify():
    task = tasks.enqueue(db_session(), kind="audit.verify", params={}, actor=actor())
    return redirect(url_for("console.task_view", task_id=task.id))


@bp.route("/tasks/<int:task_id>")
@signed_in
def task_view(task_id: int):
    task = tasks.get_visible(db_session(), actor(), task_id)
    return render_template("console/task.html", task=task, result=tasks.result_of(task))
