"""Console pages of inspection results (检查结果): entry on a phone or at a desk, attachments,
review and the review list."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote

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

from ..access import ADMINS, ALL_STAFF, OVERSEERS, allow
from ..db.states import RecordStatus
from ..domain import result_codes as rc
from ..downloads import sheet_file
from ..edge import actor, db_session, discard, int_arg, today
from ..errors import AppError
from ..services.results import results
from .paging import cursor_arg, pager

bp = Blueprint("console_results", __name__, url_prefix="/console")

READERS = OVERSEERS
MATTER_FIELDS = ("codes", "methods", "measures")


def _depth(code: str) -> int:
    return len(rc.ancestors(code))


def _state_from_visit(visit: results.Visit) -> dict:
    record = visit.record
    matters = {}
    for matter in visit.matters:
        r = visit.results.get(matter.id)
        matters[matter.id] = {
            "codes": set(r.codes.split(",")) if r else set(),
            "methods": set(r.methods.split(",")) if r else set(),
            "measures": set(r.measures.split(",")) if r else set(),
            "measure_other": (r.measure_other or "") if r else "",
            "closed": r.follow_up_closed if r else False,
            "notes": (r.notes or "") if r else "",
        }
    return {
        "checked_on": record.checked_on.isoformat() if record and record.checked_on else "",
        "notes": (record.notes or "") if record else "",
        "matters": matters,
    }


def _state_from_form(visit: results.Visit) -> dict:
    form = request.form
    matters = {}
    for matter in visit.matters:
        prefix = f"m{matter.id}_"
        matters[matter.id] = {
            **{name: set(form.getlist(prefix + name)) for name in MATTER_FIELDS},
            "measure_other": form.get(prefix + "measure_other", ""),
            "closed": prefix + "closed" in form,
            "notes": form.get(prefix + "notes", ""),
        }
    return {
        "checked_on": form.get("checked_on", ""),
        "notes": form.get("notes", ""),
        "matters": matters,
    }


def _raw(state: dict, own: frozenset[int]) -> dict:
    """What results.save takes, from the form's state: the matters this user records."""
    return {
        "checked_on": state["checked_on"],
        "notes": state["notes"],
        "matters": {
            str(matter_id): {
                **{name: sorted(entry[name]) for name in MATTER_FIELDS},
                "measure_other": entry["measure_other"],
                "closed": entry["closed"],
                "notes": entry["notes"],
            }
            for matter_id, entry in state["matters"].items()
            if matter_id in own
        },
    }


def _draft(visit: results.Visit, *, unsaved: bool) -> dict:
    """What js/result-draft.js needs to keep this user's unsaved input for this visit: its
    storage key, a fingerprint of what is saved (a draft typed over another saved state is
    stale), and whether the page shows input the server refused (kept as a draft at once)."""
    saved = json.dumps(_state_from_visit(visit), default=sorted, sort_keys=True)
    return {
        "key": f"result-draft:{actor().id}:{visit.draw.id}:{visit.row.drawn.position}",
        "base": hashlib.sha256(saved.encode()).hexdigest()[:16],
        "unsaved": unsaved,
    }


def _page(visit: results.Visit, *, state=None, error=None, review_error=None, status=200):
    return render_template(
        "console/result_entry.html",
        v=visit,
        draft=_draft(visit, unsaved=state is not None and status >= 400),
        state=state or _state_from_visit(visit),
        error=error,
        review_error=review_error,
        codes=rc.RESULT_CODES,
        depth=_depth,
        methods=rc.CHECK_METHODS,
        measures=rc.MEASURES,
        decisions=results.DECISIONS,
        labels=visit.field_labels(),
        today=today(),
        max_mb=current_app.config["RESULT_ATTACHMENT_MAX_BYTES"] / 1024 / 1024,
    ), status


def _here(draw_id: int, position: int):
    return redirect(url_for("console_results.entry", draw_id=draw_id, position=position))


@bp.route("/draws/<int:draw_id>/results/<int:position>")
@allow(*ALL_STAFF)
def entry(draw_id: int, position: int):
    """The result entry (or read-only) page of one drawn entity."""
    return _page(results.get_visit(db_session(), actor(), draw_id, position))


@bp.route("/draws/<int:draw_id>/results/<int:position>", methods=["POST"])
@allow(*ALL_STAFF)
def entry_save(draw_id: int, position: int):
    """Save the entered results together with the photos and documents chosen in the same
    form (one multipart form, so nothing typed is lost to an upload); with action=submit,
    hand them to review as well."""
    session = db_session()
    visit = results.get_visit(session, actor(), draw_id, position)
    state = _state_from_form(visit)
    try:
        results.save(
            session,
            actor=actor(),
            draw_id=draw_id,
            position=position,
            raw=_raw(state, visit.own_matter_ids),
            today=today(),
        )
    except AppError as exc:
        if exc.status == 403:
            raise
        discard()
        visit = results.get_visit(session, actor(), draw_id, position)
        return _page(visit, state=state, error=exc, status=exc.status)
    stored = 0
    for upload in request.files.getlist("file"):
        if not upload.filename:
            continue  # the empty part a browser sends when no file is chosen
        step = session.begin_nested()
        try:
            _store(session, draw_id, position, upload)
        except AppError as exc:
            if exc.status == 403:
                raise
            # The draft and the files before this one are kept (status 200 commits them),
            # this file's work is not; the form shows what was typed, and the file has to be
            # chosen again.
            discard(step)
            exc.message = f"检查结果已保存，但附件“{upload.filename}”未上传：{exc.message}"
            visit = results.get_visit(session, actor(), draw_id, position)
            return _page(visit, state=state, error=exc)
        step.commit()
        stored += 1
    if request.form.get("action") == "submit":
        step = session.begin_nested()
        try:
            results.submit(session, actor=actor(), draw_id=draw_id, position=position)
        except AppError as exc:
            if exc.status == 403:
                raise
            # The draft is kept (status 200 commits it), the failed submission is not; what
            # is missing is shown.
            discard(step)
            exc.message = f"已保存，但尚不能提交审核：{exc.message}"
            visit = results.get_visit(session, actor(), draw_id, position)
            return _page(visit, state=state, error=exc)
        step.commit()
    flash(
        "检查结果已提交审核" if request.form.get("action") == "submit" else "检查结果已保存为草稿",
        "result-saved",  # tells js/result-draft.js that the typed draft is saved
    )
    if stored:
        flash(f"附件已上传（{stored} 个）")
    return _here(draw_id, position)


def _store(session, draw_id: int, position: int, upload) -> None:
    limit = current_app.config["RESULT_ATTACHMENT_MAX_BYTES"]
    results.add_attachment(
        session,
        actor=actor(),
        draw_id=draw_id,
        position=position,
        filename=upload.filename or "",
        data=upload.stream.read(limit + 1),
        max_bytes=limit,
    )


@bp.route("/draws/<int:draw_id>/results/<int:position>/attachments", methods=["POST"])
@allow(*ALL_STAFF)
def attachments(draw_id: int, position: int):
    """Upload a photo or document (JPEG, PNG, PDF), or delete one (delete=<id>)."""
    session = db_session()
    limit = current_app.config["RESULT_ATTACHMENT_MAX_BYTES"]
    try:
        if request.form.get("delete"):
            results.delete_attachment(
                session,
                actor=actor(),
                draw_id=draw_id,
                position=position,
                attachment_id=int_arg("delete", -1, source=request.form),
            )
            flash("附件已删除")
        else:
            upload = request.files.get("file")
            results.add_attachment(
                session,
                actor=actor(),
                draw_id=draw_id,
                position=position,
                filename=upload.filename if upload else "",
                data=upload.stream.read(limit + 1) if upload else b"",
                max_bytes=limit,
            )
            flash("附件已上传")
    except AppError as exc:
        if exc.status == 403:
            raise
        discard()
        visit = results.get_visit(session, actor(), draw_id, position)
        return _page(visit, error=exc, status=exc.status)
    return _here(draw_id, position)


@bp.route("/result-attachments/<int:attachment_id>")
@allow(*ALL_STAFF)
def attachment(attachment_id: int):
    """Download an attachment (the visit's readers only; never public)."""
    found = results.attachment(db_session(), actor(), attachment_id)
    return Response(
        found.data,
        mimetype=found.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/draws/<int:draw_id>/results/<int:position>/review", methods=["POST"])
@allow(*ADMINS)
def review(draw_id: int, position: int):
    """Approve (publish), return or reject a submitted record."""
    session = db_session()
    decision = request.form.get("decision", "")
    try:
        results.review(
            session,
            actor=actor(),
            draw_id=draw_id,
            position=position,
            decision=decision,
            comment=request.form.get("comment", ""),
        )
    except AppError as exc:
        if exc.status == 403:
            raise
        discard()
        visit = results.get_visit(session, actor(), draw_id, position)
        return _page(visit, review_error=exc, status=exc.status)
    flash(
        {"approve": "已审核通过并公示", "return": "已退回补正", "reject": "已审核不通过"}[decision]
    )
    return _here(draw_id, position)


RESULTS_PER_PAGE = 50


@bp.route("/results")
@allow(*READERS)
def review_list():
    """检查结果审核: the department's records, 待审核 first by default."""
    status = request.args.get("status", RecordStatus.SUBMITTED)
    if status not in results.STATUS_LABELS:
        status = ""
    page = results.review_page(
        db_session(), actor(), status=status or None, cursor=cursor_arg(), limit=RESULTS_PER_PAGE
    )
    return render_template(
        "console/results.html",
        records=page.items,
        links=pager(page),
        status=status,
        STATUS=results.STATUS_LABELS,
    )


@bp.route("/results/export", methods=["POST"])
@allow(*READERS)
def review_export():
    """检查结果审核 as Excel or CSV: every record under the page's status filter."""
    return sheet_file(
        "results", {"status": request.form.get("status", "")}, request.form.get("format", "xlsx")
    )
