"""Console pages of the credit record: the 经营异常名录 records with their deadlines and
steps, and the outbox (system administrator)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from ..access import ADMINS, ALL_STAFF, allow
from ..db.states import Role
from ..downloads import sheet_file
from ..edge import actor, db_session, discard, today
from ..errors import Conflict, Invalid
from ..services import scope
from ..services.platform import outbox
from ..services.results import credit, paperwork
from .paging import cursor_arg, pager

bp = Blueprint("console_credit", __name__, url_prefix="/console")

LISTINGS_PER_PAGE = 50
OUTBOX_PER_PAGE = 50


@bp.route("/abnormal-listings")
@allow(*ALL_STAFF)
def listing_list():
    """Every record of every year, page by page (it stopped at 500 rows without a word)."""
    status = request.args.get("status", "").strip() or None
    overdue = request.args.get("overdue") == "1"
    page = credit.listing_page(
        db_session(),
        actor(),
        today=today(),
        status=status,
        overdue_only=overdue,
        cursor=cursor_arg(),
        limit=LISTINGS_PER_PAGE,
    )
    return render_template(
        "console/abnormal_listings.html",
        views=page.items,
        links=pager(page),
        per_page=LISTINGS_PER_PAGE,
        status=status,
        overdue=overdue,
        today=today(),
        statuses=credit.LISTING_STATUS_LABELS,
    )


@bp.route("/abnormal-listings/export", methods=["POST"])
@allow(*ALL_STAFF)
def listing_export():
    """经营异常名录 as Excel or CSV: every record under the page's filters."""
    form = request.form
    params = {"status": form.get("status", ""), "overdue": form.get("overdue") == "1"}
    return sheet_file("listings", params, form.get("format", "xlsx"))


@bp.route("/abnormal-listings/<int:listing_id>/decision/<any(listing, removal):document>")
@allow(*ALL_STAFF)
def listing_decision(listing_id, document):
    """The printable 列入 or 移出经营异常名录决定书 of a record once it was decided."""
    data = paperwork.decision(db_session(), actor(), listing_id, document)
    return render_template(
        "console/decision.html", basis=current_app.config["CREDIT_DECISION_BASIS"], **data
    )


@bp.route("/abnormal-listings/<int:listing_id>")
@allow(*ALL_STAFF)
def listing_detail(listing_id):
    user = actor()
    listing = credit.get_listing(db_session(), user, listing_id)
    can_decide = scope.administers(user, listing.department_id)
    return render_template(
        "console/abnormal_listing.html",
        view=credit.view(listing, today(), credit.current()),
        events=credit.listing_events(db_session(), listing),
        can_decide=can_decide,
        actions=[
            (name, credit.STEP_LABELS[name], spec[3])
            for name, spec in credit.ACTIONS.items()
            if spec[0] == listing.status
        ],
        statuses=credit.LISTING_STATUS_LABELS,
        event_labels=credit.EVENT_LABELS,
        removal_days=credit.current().removal_days,
    )


@bp.route(
    "/abnormal-listings/<int:listing_id>/<any(list, dismiss, request_removal, remove):action>",
    methods=["POST"],
)
@allow(*ADMINS)
def listing_decide(listing_id, action):
    try:
        credit.decide(
            db_session(),
            actor=actor(),
            listing_id=listing_id,
            action=action,
            today=today(),
            reason=request.form.get("reason", ""),
        )
    except (Invalid, Conflict) as exc:  # shown on the page; 403/404 go to the error handler
        discard()  # the redirect is a 302: nothing the failed decision flushed may commit
        flash(f"{credit.STEP_LABELS[action]}未完成：{exc.message}", "error")
    else:
        flash(f"已{credit.STEP_LABELS[action]}")
    return redirect(url_for("console_credit.listing_detail", listing_id=listing_id))


@bp.route("/outbox")
@allow(Role.SYSADMIN)
def outbox_list():
    status = request.args.get("status", "").strip() or None
    channel = request.args.get("channel", "").strip() or None
    page = outbox.page_messages(
        db_session(),
        actor(),
        status=status,
        channel=channel,
        cursor=cursor_arg(),
        limit=OUTBOX_PER_PAGE,
    )
    return render_template(
        "console/outbox.html",
        messages=page.items,
        links=pager(page),
        status=status,
        channel=channel,
        statuses=outbox.STATUS_LABELS,
        channels=outbox.CHANNEL_LABELS,
    )
