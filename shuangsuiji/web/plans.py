"""Console pages of plans (抽查任务) and draws: the plan form, commitment, the draw ceremony,
results, replacements, 检查通知书 and inspectors' task lists."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from ..access import ADMINS, ALL_STAFF, OVERSEERS, allow, signed_in
from ..db import ENTITY_STATUSES, Department, utcnow
from ..db.states import PlanStatus
from ..downloads import sheet_file
from ..edge import actor, db_session, int_arg, page_arg, today
from ..errors import AppError, NotFound
from ..services import scope
from ..services.accounts import departments
from ..services.pages import Page
from ..services.plans import batches, draws, paperwork, participation, plans, settings
from ..services.platform import tasks
from ..services.registry import records
from ..services.results import worklist
from .paging import cursor_arg, pager

bp = Blueprint("console_plans", __name__, url_prefix="/console")

PER_PAGE = 50
PLANS_PER_PAGE = 50
READERS = OVERSEERS
EXCLUDED_LABELS = {
    "open": "正在接受其他检查",
    "annual_cap": "已达年度抽查次数上限",
    "plan_year": "本计划本年度已抽中",
}
LEFT_OUT_LABELS = {
    "status": "非在岗状态",
    "expert": "专家（不参与随机派员）",
    "certificate": "执法证已过期",
    "qualification": "不具备所需资格",
}
EXCLUSION_LABELS = {"CONFLICT": "回避声明", "PREVIOUS": "冷却期内检查过"}
# Always asked of an inspected entity; the matters' own content is listed after these.
MATERIALS = (
    "营业执照（或其他主体资格证明）副本原件及复印件",
    "法定代表人（负责人）身份证明；委托他人办理的，提供授权委托书及受托人身份证明",
    "与抽查事项有关的许可证件、登记备案材料",
    "近一年的年度报告及公示信息所依据的财务、人员、股权等原始资料",
    "与抽查事项有关的合同、票据、台账、检验检测报告等",
)


# --- the plan form ----------------------------------------------------------------------------


def _percent(ratio: str) -> str:
    """'0.05' → '5' (the form asks for a percentage)."""
    try:
        return format((Decimal(ratio) * 100).normalize(), "f")
    except InvalidOperation:
        return ratio


def _joined(items) -> str:
    return "，".join(items or [])


def _strata_state(rules: dict) -> dict:
    """The strata table's rows: ratio (as a percentage) or count, and the bounds."""
    strata = {}
    for code in settings.STRATA:
        rule = rules.get(code, {})
        if "count" in rule:
            mode, value = "count", str(rule["count"])
        else:
            mode, value = "ratio", _percent(rule.get("ratio", "0"))
        strata[code] = {
            "mode": mode,
            "value": value,
            "k_min": str(rule.get("k_min", "")),
            "k_max": str(rule.get("k_max", "")),
        }
    return strata


def _state_from_config(cfg: dict) -> dict:
    """The form's fields (strings and lists) from a plan's settings."""
    plan_scope = cfg["scope"]
    sources = {s["kind"]: s for s in reversed(cfg["randomness"])}
    return {
        "code": cfg["code"],
        "title": cfg["title"],
        "matter_ids": [str(i) for i in cfg["matter_ids"]],
        "scope_mode": "targeted" if plan_scope else "all",
        **{key: _joined(plan_scope.get(key)) for key in settings.SCOPE_KEYS if key != "statuses"},
        "statuses": plan_scope.get("statuses", []),
        "strata": _strata_state(cfg["strata"]),
        "rounding": cfg["rounding"],
        "slots": cfg["slots"],
        "region_rule": cfg["region_rule"],
        "selection": cfg["selection"],
        "workload_cap": str(cfg["workload_cap"]),
        "cooldown_months": str(cfg["cooldown_months"]),
        "annual_cap": str(cfg["annual_cap"] or ""),
        "exclude_open": cfg["exclude_open"],
        "required_qualifications": _joined(cfg["required_qualifications"]),
        "dice": "digits" in sources,
        "dice_min_len": str(sources.get("digits", {}).get("min_len", 20)),
        "beacon": "text" in sources,
        "beacon_source": sources.get("text", {}).get("source", ""),
        "server": "server" in sources,
        "publish_mode": cfg["publish_mode"],
        "fieldwork_start": cfg["fieldwork_start"] or "",
        "fieldwork_end": cfg["fieldwork_end"] or "",
        "notes": cfg["notes"] or "",
        "recurrence": cfg["recurrence"],
        "plan_year": str(cfg["plan_year"] or ""),
    }


def _blank_cfg() -> dict:
    return {
        "code": "",
        "title": "",
        "matter_ids": [],
        "scope": {},
        "strata": {},
        "rounding": "ceil",
        "slots": [],
        "region_rule": "none",
        "selection": "uniform",
        "workload_cap": 20,
        "cooldown_months": 0,
        "annual_cap": None,
        "exclude_open": True,
        "required_qualifications": [],
        "randomness": [],
        "publish_mode": "after_fieldwork",
        "fieldwork_start": None,
        "fieldwork_end": None,
        "notes": None,
        "recurrence": "once",
        "plan_year": None,
    }


def _new_state(department: Department) -> dict:
    return _state_from_config(
        _blank_cfg()
        | {
            "strata": settings.preset_strata("henan"),
            "slots": [department.code, department.code],
            "randomness": settings.DEFAULT_RANDOMNESS,
        }
    )


def _state_from_form() -> dict:
    form = request.form
    text = {
        name: form.get(name, "").strip()
        for name in (
            "code",
            "title",
            "scope_mode",
            "entity_types",
            "industry_prefixes",
            "region_prefixes",
            "tags",
            "rounding",
            "region_rule",
            "selection",
            "workload_cap",
            "cooldown_months",
            "annual_cap",
            "required_qualifications",
            "dice_min_len",
            "beacon_source",
            "publish_mode",
            "fieldwork_start",
            "fieldwork_end",
            "notes",
            "recurrence",
            "plan_year",
        )
    }
    strata = {
        code: {
            "mode": form.get(f"strata_{code}_mode", "ratio"),
            **{
                key: form.get(f"strata_{code}_{key}", "").strip()
                for key in ("value", "k_min", "k_max")
            },
        }
        for code in settings.STRATA
    }
    return text | {
        "matter_ids": form.getlist("matter_ids"),
        "statuses": form.getlist("statuses"),
        "strata": strata,
        "slots": [s for s in form.getlist("slots") if s],
        "exclude_open": "exclude_open" in form,
        "dice": "dice" in form,
        "beacon": "beacon" in form,
        "server": "server" in form,
    }


def _raw(state: dict) -> dict:
    """What plans.create/update take, from the form's fields."""
    plan_scope = {}
    if state["scope_mode"] == "targeted":
        plan_scope = {k: state[k] for k in settings.SCOPE_KEYS if k != "statuses" and state[k]}
        if state["statuses"]:
            plan_scope["statuses"] = state["statuses"]
    strata = {}
    for code, row in state["strata"].items():
        if row["mode"] == "count":
            rule = {"count": row["value"]}
        else:
            rule = {"ratio": f"{row['value']}%" if row["value"] else ""}
        strata[code] = rule | {k: row[k] for k in ("k_min", "k_max") if row[k]}
    randomness = []
    if state["dice"]:
        randomness.append({"label": "dice", "kind": "digits", "min_len": state["dice_min_len"]})
    if state["beacon"]:
        randomness.append({"label": "beacon", "kind": "text", "source": state["beacon_source"]})
    if state["server"]:
        randomness.append({"label": "server", "kind": "server"})
    if state["recurrence"] not in ("", "once"):  # unattended: the hash chain, typed values
        randomness = settings.SERVER_ONLY + [s for s in randomness if s["kind"] == "text"]
    built = {"scope": plan_scope, "strata": strata, "randomness": randomness}
    built["recurrence"] = state["recurrence"] or "once"
    return {name: built[name] if name in built else state[name] for name in settings.FIELDS}


def _form_page(plan, department_id: int, state: dict, error=None, status=200):
    session = db_session()
    joint = settings.participants_of(session, department_id, state["slots"])
    return render_template(
        "console/plan_form.html",
        plan=plan,
        state=state,
        error=error,
        matters=records.matters_for_plan(session, department_id, [d.id for d in joint]),
        departments=departments.list_all(session),
        presets=settings.PRESETS,
        strata_labels=settings.STRATUM_LABELS,
        statuses=ENTITY_STATUSES,
        batch_time=current_app.config["SCHEDULER_BATCH_TIME"],
        lead_id=department_id,
        L=_labels(),
    ), status


def _labels() -> dict:
    return {
        "status": plans.STATUS_LABELS,
        "rounding": settings.ROUNDING_LABELS,
        "region_rule": settings.REGION_RULE_LABELS,
        "selection": settings.SELECTION_LABELS,
        "publish": settings.PUBLISH_LABELS,
        "kind": settings.KIND_LABELS,
        "stratum": settings.STRATUM_LABELS,
        "excluded": EXCLUDED_LABELS,
        "left_out": LEFT_OUT_LABELS,
        "exclusion": EXCLUSION_LABELS,
        "replacement": draws.REPLACEMENT_REASONS,
        "recurrence": settings.RECURRENCE_LABELS,
        "batch_status": batches.BATCH_STATUS_LABELS,
        "participation": participation.STATUS_LABELS,
    }


def _submitted_form(plan, department_id: int, save):
    """Handle a POST of the plan form: apply a preset, or save through `save(raw)`."""
    state = _state_from_form()
    preset = request.form.get("preset", "")
    if "apply_preset" in request.form:
        if preset in settings.PRESETS:
            state["preset"] = preset
            state["strata"] = _strata_state(settings.preset_strata(preset))
        return _form_page(plan, department_id, state)
    try:
        saved = save(_raw(state))
    except AppError as exc:
        return _form_page(plan, department_id, state, error=exc, status=exc.status)
    flash("抽查任务已保存")
    return redirect(url_for("console_plans.plan_detail", plan_id=saved.id))


@bp.route("/plans")
@allow(*ALL_STAFF)
def plan_list():
    """Newest first, page by page, filtered by status, year, department and matter."""
    session, user = db_session(), actor()
    status = request.args.get("status") or None
    year, department_id, matter_id = int_arg("year"), int_arg("department"), int_arg("matter")
    page = plans.page_visible(
        session,
        user,
        status=status,
        cursor=cursor_arg(),
        limit=PLANS_PER_PAGE,
        year=year,
        department_id=department_id,
        matter_id=matter_id,
    )
    first = plans.first_year(session) or today().year
    own = department_id or user.department_id  # whose matters the matter filter offers
    return render_template(
        "console/plans.html",
        plans=page.items,
        links=pager(page),
        per_page=PLANS_PER_PAGE,
        status=status,
        year=year,
        years=range(today().year + 1, first - 1, -1),
        department_id=department_id,
        departments=departments.list_all(session, by_region=True) if scope.reads_all(user) else [],
        matter_id=matter_id,
        matters=records.matters_for_plan(session, own, []) if own else [],
        L=_labels(),
    )


@bp.route("/plans/new", methods=["GET", "POST"])
@allow(*ADMINS)
def plan_new():
    user = actor()
    session = db_session()
    if scope.is_sysadmin(user):  # no department of their own: they pick one first
        department_id = int_arg("department_id")
        if department_id is None:
            return render_template(
                "console/plan_department.html",
                departments=departments.list_all(session),
            )
        department = departments.get(session, user, department_id)
    else:
        department = departments.get(session, user, user.department_id)
    if request.method == "GET":
        return _form_page(None, department.id, _new_state(department))
    return _submitted_form(
        None,
        department.id,
        lambda raw: plans.create(db_session(), actor=user, department_id=department.id, raw=raw),
    )


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@allow(*ADMINS)
def plan_edit(plan_id: int):
    plan = plans.get(db_session(), actor(), plan_id)
    if request.method == "GET":
        return _form_page(plan, plan.department_id, _state_from_config(settings.config(plan)))
    return _submitted_form(
        plan,
        plan.department_id,
        lambda raw: plans.update(db_session(), actor=actor(), plan_id=plan.id, raw=raw),
    )


# --- plan detail, commit, redraw, close -------------------------------------------------------


def _timing() -> batches.Timing:
    return batches.Timing.from_config(current_app.config)


def _slot_summary(session, plan) -> list[tuple[str, int]]:
    """The team's slots by department name (never by department code)."""
    slots = settings.config(plan)["slots"]
    names = {plan.department.code: plan.department.name} | {
        d.code: d.name for d in settings.participants_of(session, plan.department_id, slots)
    }
    return settings.slot_summary(slots, names)


def _detail_page(plan, error=None, status=200, redraw_error=None, answer_error=None):
    session = db_session()
    recurring = plan.recurrence != "once"
    rows = participation.of_plan(session, plan)
    draw_rows = [(d, draws.superseded_by(session, d)) for d in plans.draws_of(session, plan)]
    commitments = [
        (c, c.summary_doc, next((d for d, _ in draw_rows if d.commitment_id == c.id), None))
        for c in plans.commitments(session, plan)
    ]
    return render_template(
        "console/plan_detail.html",
        plan=plan,
        cfg=settings.config(plan),
        slot_summary=_slot_summary(session, plan),
        commitments=commitments,
        draw_rows=draw_rows,
        error=error,
        redraw_error=redraw_error,
        percent=_percent,
        batch_rows=batches.overview(session, plan, _timing()) if recurring else [],
        typed_sources=batches.typed_sources(plan) if recurring else [],
        batch_time=current_app.config["SCHEDULER_BATCH_TIME"],
        participations=rows,
        answerable=participation.answerable(actor(), rows),
        eligible=participation.eligible_counts(session, plan, today(), viewer=actor()),
        decidable=plan.status in participation.DECIDABLE,
        answer_error=answer_error,
        L=_labels(),
    ), status


@bp.route("/plans/<int:plan_id>")
@allow(*ALL_STAFF)
def plan_detail(plan_id: int):
    return _detail_page(plans.get(db_session(), actor(), plan_id))


@bp.route("/plans/<int:plan_id>/commit", methods=["POST"])
@allow(*ADMINS)
def plan_commit(plan_id: int):
    """First commitment of a draft; with a reason, the commitment of a redraw."""
    session = db_session()
    reason = request.form.get("reason")
    try:
        commitment = plans.commit(
            session, actor=actor(), plan_id=plan_id, today=today(), reason=reason
        )
    except AppError as exc:
        plan = plans.get(session, actor(), plan_id)
        if reason is not None:
            return _detail_page(plan, redraw_error=exc, status=exc.status)
        return _detail_page(plan, error=exc, status=exc.status)
    flash(f"已承诺：{commitment.srdp_id}，快照摘要 {commitment.snapshot}")
    return redirect(url_for("console_plans.plan_detail", plan_id=plan_id))


@bp.route("/plans/<int:plan_id>/participations/<int:department_id>", methods=["POST"])
@allow(*ADMINS)
def plan_participation(plan_id: int, department_id: int):
    """A participating department's answer: 确认参加, or 拒绝 with a reason."""
    session = db_session()
    decision = request.form.get("decision")
    try:
        row = participation.decide(
            session,
            actor=actor(),
            plan_id=plan_id,
            department_id=department_id,
            accept={"accept": True, "decline": False}.get(decision),
            reason=request.form.get("reason"),
        )
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        plan = plans.get(session, actor(), plan_id)
        return _detail_page(plan, answer_error=exc, status=exc.status)
    flash(f"{row.department.name}：{participation.STATUS_LABELS[row.status]}")
    return redirect(url_for("console_plans.plan_detail", plan_id=plan_id))


@bp.route("/participations")
@allow(*READERS)
def participation_list():
    """联合抽查邀请: the joint plans of other departments that name this department."""
    status = request.args.get("status") or None
    if status not in (None, *participation.STATUS_LABELS):
        status = None
    page = participation.requests_page(
        db_session(), actor(), status=status, cursor=cursor_arg(), limit=PLANS_PER_PAGE
    )
    return render_template(
        "console/participations.html",
        rows=page.items,
        links=pager(page),
        status=status,
        L=_labels(),
    )


@bp.route("/plans/<int:plan_id>/activate", methods=["POST"])
@allow(*ADMINS)
def plan_activate(plan_id: int):
    """Start a recurring plan: its batches are drawn by the scheduler from now on."""
    session = db_session()
    try:
        plan = batches.activate(
            session, actor=actor(), plan_id=plan_id, now=utcnow(), timing=_timing()
        )
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        return _detail_page(plans.get(session, actor(), plan_id), error=exc, status=exc.status)
    flash(f"已启用：哈希链顶端 {plan.chain_tip}")
    return redirect(url_for("console_plans.plan_detail", plan_id=plan_id))


@bp.route("/plans/<int:plan_id>/batch-values", methods=["POST"])
@allow(*ADMINS)
def plan_batch_value(plan_id: int):
    """Type in a published value (lottery result, beacon) for a batch before it falls due."""
    session = db_session()
    form = request.form
    try:
        row = batches.enter_value(
            session,
            actor=actor(),
            plan_id=plan_id,
            typed=batches.TypedValue(
                batch_key=form.get("batch_key", ""),
                label=form.get("label", ""),
                value=form.get("value", ""),
                source=form.get("source", ""),
            ),
            now=utcnow(),
            timing=_timing(),
        )
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        return _detail_page(plans.get(session, actor(), plan_id), error=exc, status=exc.status)
    flash(f"已录入批次 {row.batch_key} 的 {row.label}：{row.value}")
    return redirect(url_for("console_plans.plan_detail", plan_id=plan_id))


@bp.route("/plans/<int:plan_id>/close", methods=["POST"])
@allow(*ADMINS)
def plan_close(plan_id: int):
    plans.close(db_session(), actor=actor(), plan_id=plan_id)
    flash("抽查任务已结束")
    return redirect(url_for("console_plans.plan_detail", plan_id=plan_id))


# --- the ceremony -----------------------------------------------------------------------------


def _teams_page(draw, page: int) -> Page:
    session = db_session()
    total = draws.count_drawn(session, draw)
    page = max(1, min(page, -(-total // PER_PAGE) or 1))
    rows = draws.teams(session, draw, offset=(page - 1) * PER_PAGE, limit=PER_PAGE, viewer=actor())
    return Page(items=rows, total=total, page=page, per_page=PER_PAGE)


def _ceremony_page(plan, *, error=None, status=200, values=None):
    session = db_session()
    commitment = plans.latest_commitment(session, plan)
    task = None
    task_id = int_arg("task")
    if task_id:
        task = tasks.get_visible(session, actor(), task_id)
    elif plan.status == PlanStatus.COMMITTED and commitment is not None:
        # Opened again (another clerk, a reload) while the draw runs: show its progress.
        task = draws.pending_request(session, commitment.id)
    draw = (
        draws.current_draw(session, plan)
        if plan.status in (PlanStatus.DRAWN, PlanStatus.CLOSED)
        else None
    )
    sources = commitment.srdp_plan.randomness if commitment else ()
    return render_template(
        "console/ceremony.html",
        plan=plan,
        commitment=commitment,
        sources=sources,
        task=task,
        draw=draw,
        page=_teams_page(draw, page_arg()) if draw else None,
        summary=draw.summary_doc if draw else None,
        randomness=draw.randomness_entries if draw else None,
        error=error,
        values=values or {},
        L=_labels(),
    ), status


@bp.route("/plans/<int:plan_id>/ceremony")
@allow(*READERS)
def ceremony(plan_id: int):
    return _ceremony_page(plans.get(db_session(), actor(), plan_id))


@bp.route("/plans/<int:plan_id>/ceremony", methods=["POST"])
@allow(*ADMINS)
def ceremony_draw(plan_id: int):
    """Queue the draw with the randomness typed in at the ceremony."""
    session = db_session()
    plan = plans.get(session, actor(), plan_id)
    commitment = plans.latest_commitment(session, plan)
    sources = commitment.srdp_plan.randomness if commitment else ()
    given = []
    for source in sources:
        label = source.label
        value = request.form.get(f"value_{label}", "").strip()
        if source.kind == "digits":
            witnesses = request.form.get(f"witnesses_{label}", "").replace("，", "\n")
            names = [w.strip() for w in witnesses.splitlines() if w.strip()]
            given.append({"label": label, "value": value, "witnesses": names})
        elif source.kind == "text":
            given.append(
                {"label": label, "value": value, "source": request.form.get(f"source_{label}", "")}
            )
    try:
        task = draws.request(session, actor=actor(), plan_id=plan.id, randomness=given)
    except AppError as exc:
        return _ceremony_page(plan, error=exc, status=exc.status, values=request.form)
    return redirect(url_for("console_plans.ceremony", plan_id=plan.id, task=task.id))


# --- draw results, replacements, bundle, notices ----------------------------------------------


def _draw_page(draw_id: int, *, error=None, status=200):
    session = db_session()
    draw = draws.get(session, actor(), draw_id)
    plan = draw.plan
    replaced_by = draws.superseded_by(session, draw)
    return render_template(
        "console/draw.html",
        draw=draw,
        plan=plan,
        commitment=draw.commitment,
        replaced_by=replaced_by,
        page=_teams_page(draw, page_arg()),
        summary=draw.summary_doc,
        randomness=draw.randomness_entries,
        replacements=draws.replacement_rows(db_session(), draw, viewer=actor()),
        can_replace=(
            replaced_by is None
            and plan.status != PlanStatus.CLOSED
            and scope.administers(actor(), plan.department_id)
        ),
        error=error,
        L=_labels(),
    ), status


@bp.route("/draws/<int:draw_id>")
@allow(*READERS)
def draw_view(draw_id: int):
    return _draw_page(draw_id)


@bp.route("/draws/<int:draw_id>/replace", methods=["POST"])
@allow(*ADMINS)
def draw_replace(draw_id: int):
    form = request.form
    try:
        row = draws.replace(
            db_session(),
            actor=actor(),
            draw_id=draw_id,
            position=int_arg("position", -1, source=form),
            slot=int_arg("slot", -1, source=form),
            reason=form.get("reason", ""),
            note=form.get("note", ""),
        )
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        return _draw_page(draw_id, error=exc, status=exc.status)
    if row.inspector_id is None:
        flash(f"第 {row.n} 次替换：无可替换人员，该岗位暂缺")
    else:
        flash(f"第 {row.n} 次替换已完成")
    return redirect(url_for("console_plans.draw_view", draw_id=draw_id))


@bp.route("/draws/<int:draw_id>/bundle")
@allow(*READERS)
def draw_bundle(draw_id: int):
    """The auditors' bundle zip (SRDP-1 §7.3), as the API serves it."""
    draw, data = draws.bundle_zip(db_session(), actor(), draw_id)
    name = f"{draw.commitment.srdp_id}-draw{draw.id}.zip"
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/draws/<int:draw_id>/notices/<int:position>")
@allow(*ALL_STAFF)
def draw_notice(draw_id: int, position: int):
    user = actor()
    data = draws.notice(db_session(), user, draw_id, position)
    if scope.is_inspector(user) and not any(
        m.inspector is not None and m.inspector.user_id == user.id for m in data["row"].members
    ):
        raise NotFound("抽中对象不存在")
    return render_template("console/notice.html", materials=MATERIALS, **data)


@bp.route("/draws/<int:draw_id>/export", methods=["POST"])
@allow(*READERS)
def draw_export(draw_id: int):
    """抽取名单 as Excel or CSV: the drawn entities, their teams and the inspectors' contacts
    (in clear for the inspectors' own administrators only)."""
    return sheet_file("draw", {"draw_id": draw_id}, request.form.get("format", "xlsx"))


@bp.route("/draws/<int:draw_id>/notices")
@allow(*READERS)
def draw_notices(draw_id: int):
    """Every 检查通知书 of the draw on one print page, one notice a sheet (?from=&to= for a
    range of a large draw)."""
    data = paperwork.notices(db_session(), actor(), draw_id, int_arg("from"), int_arg("to"))
    return render_template(
        "console/notices.html",
        materials=MATERIALS,
        total=data["draw"].summary_doc.drawn,
        max_notices=paperwork.NOTICES_MAX,
        **data,
    )


# --- inspectors' task lists -------------------------------------------------------------------


TASKS_PER_PAGE = 30
TASK_YEARS = 10  # the years offered for the finished tasks, this one first


def _task_page(inspector, *, mine: bool):
    """The inspector's cards: the tasks still open (the day's work first), or with
    ?finished=1 those of closed plans by year (this one unless asked); keyset-paged."""
    finished = request.args.get("finished") == "1"
    year = (int_arg("year") or today().year) if finished else None
    page = worklist.page(
        db_session(),
        actor(),
        inspector.id,
        today=today(),
        cursor=cursor_arg(),
        limit=TASKS_PER_PAGE,
        finished=finished,
        year=year,
    )
    return render_template(
        "console/inspector_tasks.html",
        inspector=inspector,
        cards=page.items,
        links=pager(page),
        mine=mine,
        finished=finished,
        year=year,
        years=range(today().year, today().year - TASK_YEARS, -1),
        today=today(),
        map_url=current_app.config["MAP_SEARCH_URL"],
    )


@bp.route("/inspectors/<int:inspector_id>/tasks")
@allow(*READERS)
def inspector_tasks(inspector_id: int):
    """An inspector's tasks, as an administrator or auditor sees them."""
    return _task_page(records.get(db_session(), actor(), "inspectors", inspector_id), mine=False)


@bp.route("/my-tasks")
@signed_in
def my_tasks():
    """我的检查任务: the tasks of the inspector record linked to this account."""
    mine = records.inspectors_of_account(db_session(), actor())
    if not mine:
        return render_template("console/inspector_tasks.html", inspector=None, mine=True)
    return _task_page(mine[0], mine=True)
