"""The credit feed for the credit platform, and the outbox for an external e-mail/SMS gateway."""

from __future__ import annotations

import io
import json

from flask import Response, current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from .. import tabular
from ..access import ADMINS, ALL_STAFF, OVERSEERS, allow
from ..db.states import Role
from ..edge import actor, db_session, today
from ..schemas.common import LINK_HEADER, cursor_page_of
from ..schemas.credit import (
    FeedQuery,
    ListingDecisionIn,
    ListingQuery,
    ListingViewOut,
    OutboxMessageOut,
    OutboxQuery,
    OutboxReportIn,
)
from ..services.platform import outbox
from ..services.results import credit
from .paging import limit_of, paged

blp = Blueprint("credit", __name__, url_prefix="", description="信用事件推送与发件箱")

NDJSON = "application/x-ndjson"
TEXT = {"schema": {"type": "string"}}
FEED_COLUMNS = (
    "id",
    "type",
    "uscc",
    "entity_name",
    "department_code",
    "result_code",
    "occurred_on",
    "source",
    "rule",
    "created_at",
    "document",
)


def _feed_response(events, args) -> Response:
    documents = [
        {**credit.event_document(e), "created_at": e.created_at.isoformat()} for e in events
    ]
    if args["format"] == "csv":
        buffer = io.BytesIO()
        rows = [
            [*(d.get(c) for c in FEED_COLUMNS[:-1]), json.dumps(d, ensure_ascii=False)]
            for d in documents
        ]
        tabular.write_csv(buffer, list(FEED_COLUMNS), rows)
        response = Response(buffer.getvalue(), mimetype="text/csv")
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
    else:
        body = "".join(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n" for d in documents)
        response = Response(body, mimetype="application/x-ndjson")
    cursor = events[-1].id if events else args["after"]
    response.headers["X-Next-Cursor"] = str(cursor)
    next_url = url_for(
        "credit.CreditEvents", after=cursor, limit=args["limit"], format=args["format"]
    )
    response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


@blp.route("/credit/events")
class CreditEvents(MethodView):
    @allow(*OVERSEERS)
    @blp.arguments(FeedQuery, location="query")
    @blp.response(200, content_type="application/x-ndjson")
    @blp.doc(responses={"200": {"content": {NDJSON: TEXT, "text/csv": TEXT}}})
    def get(self, args):
        """信用事件推送：按事件编号游标分页（after=上页最后编号），JSON Lines 或 CSV

        The next page starts after the header `X-Next-Cursor`; an empty page means the caller
        is up to date. Events are never changed or deleted, and none appears later below a
        cursor already returned.
        """
        limit = min(args["limit"], current_app.config["CREDIT_FEED_MAX_LIMIT"])
        args = {**args, "limit": limit}
        events = credit.feed(db_session(), actor(), after=args["after"], limit=limit)
        return _feed_response(events, args)


@blp.route("/credit/listings")
class Listings(MethodView):
    @allow(*ALL_STAFF)
    @blp.arguments(ListingQuery, location="query")
    @blp.response(200, cursor_page_of(ListingViewOut, "ListingCursorPage"), headers=LINK_HEADER)
    def get(self, args):
        """经营异常名录记录，含是否逾期、严重违法失信名单候选；按游标分页（下一页见 next 或
        Link 头）

        待办理的（status=candidate 或 removal_requested，或 overdue=true）按办理期限排序，
        其余按新的在前。
        """
        page = credit.listing_page(
            db_session(),
            actor(),
            today=today(),
            status=args["status"],
            overdue_only=args["overdue"],
            cursor=args["cursor"],
            limit=limit_of(args),
        )
        return paged(page, page.items)


@blp.route("/credit/listings/<int:listing_id>")
class ListingById(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, ListingViewOut)
    def get(self, listing_id):
        """经营异常名录记录详情"""
        listing = credit.get_listing(db_session(), actor(), listing_id)
        return credit.view(listing, today(), credit.current())


@blp.route("/credit/listings/<int:listing_id>/<any(list, dismiss, request_removal, remove):action>")
class ListingDecision(MethodView):
    @allow(*ADMINS)
    @blp.arguments(ListingDecisionIn)
    @blp.response(200, ListingViewOut)
    def post(self, values, listing_id, action):
        """办理经营异常名录记录

        list 列入；dismiss 不予列入（须附理由）；request_removal 申请移出（须附理由）；remove 移出。
        """
        listing = credit.decide(
            db_session(),
            actor=actor(),
            listing_id=listing_id,
            action=action,
            today=today(),
            reason=values["reason"],
        )
        return credit.view(listing, today(), credit.current())


@blp.route("/outbox/messages")
class OutboxMessages(MethodView):
    @allow(Role.SYSADMIN)
    @blp.arguments(OutboxQuery, location="query")
    @blp.response(200, OutboxMessageOut(many=True))
    def get(self, args):
        """发件箱：某一渠道待发送的消息（供外部短信/邮件网关读取），按编号升序"""
        return outbox.gateway_queue(
            db_session(), actor(), channel=args["channel"], limit=args["limit"], after=args["after"]
        )


@blp.route("/outbox/messages/<int:message_id>/report")
class OutboxReport(MethodView):
    @allow(Role.SYSADMIN)
    @blp.arguments(OutboxReportIn)
    @blp.response(200, OutboxMessageOut)
    def post(self, values, message_id):
        """外部网关报告发送结果：sent=true 已发送；sent=false 须附 error，按退避规则重试"""
        return outbox.gateway_report(
            db_session(),
            actor=actor(),
            message_id=message_id,
            sent=values["sent"],
            error=values["error"],
            retry=outbox.Retry.from_config(current_app.config),
        )
