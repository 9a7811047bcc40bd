"""Console pages of 一单两库: lists with search and filters, view/edit, imports and exports."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from .. import refdata
from ..access import ADMINS, ALL_STAFF, OVERSEERS, allow, signed_in
from ..columns import INSPECTOR_STATUS_LABELS
from ..db import ENTITY_STATUSES, RISK_CLASSES
from ..db.states import CHECK_METHOD_LABELS, Role
from ..domain.result_codes import BY_CODE
from ..downloads import checklist_file, export_file, rejects_file, template_file
from ..edge import actor, db_session, discard, int_arg
from ..errors import AppError, Conflict, Invalid
from ..services import scope
from ..services.pages import count_capped
from ..services.registry import checklists, exports, imports
from ..services.registry import records as registry
from ..services.results import credit
from .paging import cursor_arg, pager

bp = Blueprint("registry", __name__, url_prefix="/console")

# What each list page shows (the full record is on the detail page).
LIST_COLUMNS = {
    "entities": (
        "uscc",
        "name",
        "entity_type",
        "region_code",
        "industry_code",
        "status",
        "risk_class",
        "abnormal_listed",
        "last_checked_on",
    ),
    "inspectors": (
        "name",
        "cert_no",
        "cert_valid_until",
        "region_code",
        "qualifications",
        "status",
        "is_expert",
    ),
    "matters": ("code", "name", "sub_item", "category", "ratio", "frequency", "methods"),
    "conflicts": ("inspector", "entity", "reason", "declared_on", "valid_until"),
}
DETAIL = {
    "entities": "registry.entity_detail",
    "inspectors": "registry.inspector_detail",
    "matters": "registry.matter_detail",
}
LIST = {
    "entities": "registry.entity_list",
    "inspectors": "registry.inspector_list",
    "matters": "registry.matter_list",
    "conflicts": "registry.conflict_list",
}
EXTRA_LABELS = {
    "last_checked_on": "最近检查",
    "check_count": "检查次数",
    "inspector": "执法人员",
    "entity": "检查对象",
}
# A code's name shown beside it (行政区划代码 131024 香河县, 行业代码 6291 小吃服务).
CODE_NAMES = {"region_code": refdata.region_name, "industry_code": refdata.industry_name}
PER_PAGE = 50
IMPORTS_PER_PAGE = 50
COUNT_CAP = 1_000  # first page: "1,000 条以上" past it (10,000 of 1M names: 130 ms; 1,000: 9 ms)


def _labels(kind: str) -> dict[str, str]:
    return {f.name: f.label for f in imports.KINDS[kind].fields} | EXTRA_LABELS


def _filters(kind: str) -> dict:
    args = request.args
    if kind == "entities":
        names = (
            "q",
            "uscc",
            "region_code",
            "industry_code",
            "entity_type",
            "status",
            "risk_class",
            "tag",
        )
        filters = {n: args.get(n, "").strip() or None for n in names}
        abnormal = args.get("abnormal_listed", "")
        filters["abnormal_listed"] = {"1": True, "0": False}.get(abnormal)
        return filters
    if kind == "inspectors":
        return {n: args.get(n, "").strip() or None for n in ("q", "status", "qualification")}
    if kind == "matters":
        return {n: args.get(n, "").strip() or None for n in ("q", "category")}
    return {}


def _list(kind: str):
    """One page after the cursor; the count (capped) only on the first page, so a page deep
    in a registry of millions costs what the first one does."""
    session, user = db_session(), actor()
    filters = _filters(kind)
    cursor = cursor_arg()
    page = registry.page(session, user, kind, filters, cursor=cursor, limit=PER_PAGE)
    count = None
    if cursor is None and page.next is None:  # all of it on one page: no count needed
        count = (len(page.items), False)
    elif cursor is None:
        count = count_capped(session, registry.query_of(user, kind, filters), COUNT_CAP)
    return render_template(
        "console/registry_list.html",
        kind=kind,
        label=registry.LABELS[kind],
        items=page.items,
        links=pager(page),
        count=count,
        per_page=PER_PAGE,
        detail_endpoint=DETAIL.get(kind),
        filters=filters,
        columns=LIST_COLUMNS[kind],
        labels=_labels(kind),
        statuses=ENTITY_STATUSES,
        risk_classes=RISK_CLASSES,
        inspector_statuses=INSPECTOR_STATUS_LABELS,
        code_names=CODE_NAMES,
    )


@bp.route("/entities")
@allow(*ALL_STAFF)
def entity_list():
    return _list("entities")


@bp.route("/inspectors")
@allow(*ALL_STAFF)
def inspector_list():
    return _list("inspectors")


@bp.route("/matters")
@allow(*ALL_STAFF)
def matter_list():
    return _list("matters")


@bp.route("/conflicts")
@allow(*OVERSEERS)
def conflict_list():
    return _list("conflicts")


def _form_values(kind: str) -> dict[str, str]:
    return {
        f.name: request.form.get(f.name, "")
        for f in imports.KINDS[kind].fields
        if f.name in request.form
    }


def _detail(kind: str, object_id: int | None):
    user = actor()
    obj = registry.get(db_session(), user, kind, object_id) if object_id else None
    error = None
    if request.method == "POST":
        try:
            if obj is None:
                obj = registry.create(
                    db_session(),
                    actor=user,
                    kind=kind,
                    department_id=user.department_id,
                    raw=_form_values(kind),
                )
            else:
                registry.update(
                    db_session(), actor=user, kind=kind, object_id=obj.id, raw=_form_values(kind)
                )
        except AppError as exc:
            error = exc
        else:
            flash("已保存")
            return redirect(url_for(DETAIL[kind], object_id=obj.id))
    can_edit = scope.administers(user, user.department_id if obj is None else obj.department_id)
    return render_template(
        "console/registry_detail.html",
        kind=kind,
        label=registry.LABELS[kind],
        obj=obj,
        list_endpoint=LIST[kind],
        fields=imports.KINDS[kind].fields,
        can_edit=can_edit,
        error=error,
        values=request.form if error else None,
        show_id_number=can_edit and kind == "inspectors",
        accounts=(
            registry.linkable_accounts(db_session(), obj)
            if can_edit and kind == "inspectors" and obj is not None
            else None
        ),
        credit_events=(
            [
                (event, credit.event_document(event))
                for event in credit.events_for_entity(db_session(), user, obj.id)
            ]
            if kind == "entities" and obj is not None
            else None
        ),
        event_labels=credit.EVENT_LABELS,
        source_label=credit.source_label,
        workflow_fields=registry.WORKFLOW_FIELDS if kind == "entities" else {},
        status_choices=(
            {s: s for s in ENTITY_STATUSES}
            if kind == "entities"
            else INSPECTOR_STATUS_LABELS
            if kind == "inspectors"
            else None
        ),
        code_names=CODE_NAMES,
    ), (error.status if error else 200)


@bp.route("/entities/<int:object_id>", methods=["GET", "POST"])
@allow(*ALL_STAFF)
def entity_detail(object_id):
    return _detail("entities", object_id)


@bp.route("/inspectors/<int:object_id>", methods=["GET", "POST"])
@allow(*ALL_STAFF)
def inspector_detail(object_id):
    return _detail("inspectors", object_id)


@bp.route("/inspectors/<int:object_id>/account", methods=["POST"])
@allow(*ADMINS)
def inspector_account(object_id):
    raw = request.form.get("user_id", "")
    try:
        registry.link_account(
            db_session(),
            actor=actor(),
            inspector_id=object_id,
            user_id=int_arg("user_id", source=request.form),
        )
    except (Invalid, Conflict) as exc:  # shown on the page; 403/404 go to the error handler
        discard()  # the redirect is a 302: nothing the failed change flushed may commit
        flash(exc.message, "error")
    else:
        flash("已更新关联账号" if raw else "已解除关联账号")
    return redirect(url_for("registry.inspector_detail", object_id=object_id))


@bp.route("/matters/<int:object_id>", methods=["GET", "POST"])
@allow(*ALL_STAFF)
def matter_detail(object_id):
    return _detail("matters", object_id)


@bp.route("/<any(entities, inspectors, matters):kind>/new", methods=["GET", "POST"])
@allow(Role.DEPT_ADMIN)
def create(kind):
    return _detail(kind, None)


# --- imports ----------------------------------------------------------------------------------


@bp.route("/imports", methods=["GET", "POST"])
@allow(*OVERSEERS)
def import_list():
    error = None
    if request.method == "POST":
        if not (scope.is_admin(actor()) and actor().department_id is not None):
            error = AppError("只有部门管理员可以上传导入文件")
        else:
            upload = request.files.get("file")
            try:
                job = imports.create(
                    db_session(),
                    actor=actor(),
                    department_id=actor().department_id,
                    kind=request.form.get("kind", ""),
                    filename=upload.filename if upload else "",
                    source=upload.stream if upload else None,
                    config=current_app.config,
                    reading=imports.Reading(
                        encoding=request.form.get("encoding") or None,
                        sheet=request.form.get("sheet", "").strip() or None,
                    ),
                )
            except AppError as exc:
                error = exc
            else:
                return redirect(url_for("registry.import_view", import_id=job.id))
    list_kind = request.args.get("list_kind") or None
    status = request.args.get("status") or None
    page = imports.page_visible(
        db_session(),
        actor(),
        kind=list_kind,
        status=status,
        cursor=cursor_arg(),
        limit=IMPORTS_PER_PAGE,
    )
    return render_template(
        "console/imports.html",
        jobs=page.items,
        links=pager(page),
        list_kind=list_kind,
        status=status,
        kinds=imports.KINDS,
        statuses=imports.STATUS_LABELS,
        error=error,
        selected=request.values.get("kind", "entities"),
    ), (error.status if error else 200)


@bp.route("/imports/templates/<kind>.<any(csv, xlsx):fmt>")
@allow(*OVERSEERS)
def import_template(kind, fmt):
    """A list's import template: the accepted headers (required ones marked *) and, in the
    XLSX, a 填写说明 sheet."""
    return template_file(kind, fmt)


@bp.route("/imports/<int:import_id>")
@allow(*OVERSEERS)
def import_view(import_id):
    job = imports.get(db_session(), actor(), import_id)
    kind = imports.KINDS[job.kind]
    labels = {f.name: f.label for f in kind.fields}
    mapping = [(header, labels.get(name, name)) for header, name in job.column_mapping or []]
    return render_template(
        "console/import_view.html",
        job=job,
        kind=kind,
        statuses=imports.STATUS_LABELS,
        mapping=mapping,
        unknown=job.unknown_header_list or [],
        rejects=imports.rejects(db_session(), job, limit=200),
    )


@bp.route("/imports/<int:import_id>/confirm", methods=["POST"])
@allow(*ADMINS)
def import_confirm(import_id):
    imports.confirm(db_session(), actor=actor(), import_id=import_id)
    return redirect(url_for("registry.import_view", import_id=import_id))


@bp.route("/imports/<int:import_id>/cancel", methods=["POST"])
@allow(*ADMINS)
def import_cancel(import_id):
    imports.cancel(db_session(), actor=actor(), import_id=import_id)
    flash("已取消该批次，名录未作改动")
    return redirect(url_for("registry.import_view", import_id=import_id))


@bp.route("/imports/<int:import_id>/rejects.<any(csv, xlsx):fmt>")
@allow(*OVERSEERS)
def import_rejects(import_id, fmt):
    return rejects_file(imports.get(db_session(), actor(), import_id), fmt)


# --- exports ----------------------------------------------------------------------------------


@bp.route("/exports", methods=["POST"])
@allow(*ALL_STAFF)
def export_start():
    kind = request.form.get("kind", "")
    try:
        submitted = json.loads(request.form.get("filters") or "{}")
    except ValueError:
        submitted = None
    if not isinstance(submitted, dict):
        raise Invalid("筛选条件格式无效")
    filters = {k: v for k, v in submitted.items() if v not in (None, "")}
    task = exports.enqueue(
        db_session(),
        actor=actor(),
        kind=kind,
        filters=filters,
        fmt=request.form.get("format", "xlsx"),
    )
    return redirect(url_for("console.task_view", task_id=task.id))


@bp.route("/exports/<int:task_id>/file")
@signed_in
def export_download(task_id):
    return export_file(task_id)


# --- 检查表 -----------------------------------------------------------------------------------

CHECKLIST_FIELDS = ("content", "method", "basis", "criterion", "required", "codes")
CHECKLIST_LABELS = {
    "content": "检查内容",
    "method": "检查方法",
    "basis": "检查依据",
    "criterion": "判定标准",
    "required": "必查",
    "codes": "不符合时的检查结果代码",
}
BLANK_ROWS = 3
VERSIONS_PER_PAGE = 20


def _checklist_rows() -> list[dict]:
    """The form's rows in order, the blank ones left out (a row is `entries.<n>.<field>`)."""
    rows = []
    for n in range(1, checklists.MAX_ITEMS + BLANK_ROWS + 1):
        names = [f"entries.{n}.{f}" for f in CHECKLIST_FIELDS]
        if not any(name in request.form for name in names):
            break
        row = {f: request.form.get(f"entries.{n}.{f}", "").strip() for f in CHECKLIST_FIELDS}
        row["required"] = "是" if row["required"] else "否"
        if any(row[f] for f in ("content", "basis", "criterion", "codes")):
            rows.append(row)
    return rows


def _rows_of(checklist) -> list[dict]:
    return [
        {
            "content": i.content,
            "method": i.method,
            "basis": i.basis,
            "criterion": i.criterion or "",
            "required": "是" if i.required else "否",
            "codes": ",".join(i.code_list),
        }
        for i in (checklist.items if checklist is not None else [])
    ]


@bp.route("/matters/<int:object_id>/checklist", methods=["GET", "POST"])
@allow(*ALL_STAFF)
def matter_checklist(object_id):
    user, session = actor(), db_session()
    matter = checklists.matter_of(session, user, object_id)
    error, rows = None, None
    if request.method == "POST":
        rows = _checklist_rows()
        try:
            made = checklists.create_version(
                session,
                actor=user,
                matter_id=matter.id,
                items=rows,
                note=request.form.get("note"),
                based_on=int_arg("based_on", source=request.form),
            )
        except (Invalid, Conflict) as exc:  # shown with the form; 403/404 go to the handler
            discard()
            error = exc
        else:
            flash(f"已发布检查表第 {made.version} 版")
            return redirect(url_for("registry.matter_checklist", object_id=matter.id))
    current = checklists.current(session, matter.id)
    asked = int_arg("version")
    shown = checklists.get_version(session, user, matter.id, asked) if asked else current
    page = checklists.versions(
        session, user, matter.id, cursor=cursor_arg(), limit=VERSIONS_PER_PAGE
    )
    rows = rows if rows is not None else _rows_of(current)
    labels = _checklist_labels(len(rows) + BLANK_ROWS)
    return render_template(
        "console/checklist.html",
        matter=matter,
        current=current,
        shown=shown,
        versions=page.items,
        links=pager(page),
        can_edit=scope.administers(user, matter.department_id),
        rows=rows + [dict.fromkeys(CHECKLIST_FIELDS, "") for _ in range(BLANK_ROWS)],
        methods=CHECK_METHOD_LABELS,
        problem_codes=[BY_CODE[c] for c in checklists.PROBLEM_CODES],
        method_label=checklists.method_label,
        error=error,
        labels=labels,
        note=request.form.get("note", "") if error else "",
    ), (error.status if error else 200)


@bp.route("/matters/<int:object_id>/checklist.xlsx")
@allow(*ALL_STAFF)
def matter_checklist_file(object_id):
    user, session = actor(), db_session()
    asked = int_arg("version")
    if asked:
        shown = checklists.get_version(session, user, object_id, asked)
    else:
        shown = checklists.current_of(session, user, object_id)
    return checklist_file(shown, checklists.matter_of(session, user, object_id))


def _checklist_labels(count: int) -> dict[str, str]:
    return {
        f"entries.{n}.{f}": f"第 {n} 项{label}"
        for n in range(1, count + 1)
        for f, label in CHECKLIST_LABELS.items()
    }


@bp.route("/matters/<int:object_id>/checklist/import", methods=["POST"])
@allow(*ADMINS)
def matter_checklist_import(object_id):
    """A new version from an uploaded sheet (the columns of the exported one)."""
    user, session = actor(), db_session()
    matter = checklists.matter_of(session, user, object_id)
    scope.require_admin_of(user, matter.department_id)
    upload = request.files.get("file")
    try:
        filename = upload.filename if upload is not None else ""
        items = checklists.items_from_upload(upload.stream if upload else None, filename or "")
        made = checklists.create_version(
            session,
            actor=user,
            matter_id=matter.id,
            items=items,
            note=request.form.get("note") or f"由文件 {filename[:100]} 导入",
            based_on=int_arg("based_on", source=request.form),
        )
    except (Invalid, Conflict) as exc:  # FileRejected is an Invalid
        discard()
        flash(exc.message, "error")
        labels = _checklist_labels(checklists.MAX_ITEMS)
        for field, messages in list(exc.errors.items())[:20]:
            text = messages if isinstance(messages, str) else "；".join(map(str, messages))
            flash(f"{labels.get(field, field)}：{text}", "error")
    else:
        flash(f"已从文件导入并发布检查表第 {made.version} 版")
    return redirect(url_for("registry.matter_checklist", object_id=matter.id))
