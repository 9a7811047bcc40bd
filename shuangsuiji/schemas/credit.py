"""The credit feed and the outbox over the API: query and output shapes."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..db.states import ListingStatus
from .common import CursorQuery, whole


class FeedQuery(Schema):
    after = whole(load_default=0)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=100_000))
    format = fields.String(load_default="jsonl", validate=validate.OneOf(["jsonl", "csv"]))


class OutboxQuery(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(["email", "sms", "webhook"]))
    after = whole(load_default=0)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class OutboxMessageOut(Schema):
    id = fields.Integer()
    channel = fields.String()
    recipient = fields.String()
    subject = fields.String()
    body = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    dedup_key = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class OutboxReportIn(Schema):
    sent = fields.Boolean(required=True)
    error = fields.String(load_default="", validate=validate.Length(max=2000))


class ListingQuery(CursorQuery):
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(list(ListingStatus)),
    )
    overdue = fields.Boolean(load_default=False)


class ListingDecisionIn(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class ListingOut(Schema):
    id = fields.Integer()
    department_id = fields.Integer()
    entity_id = fields.Integer()
    uscc = fields.String(attribute="entity.uscc")
    entity_name = fields.String(attribute="entity.name")
    source = fields.String()
    rule = fields.String()
    result_code = fields.String()
    ground = fields.String()
    verified_on = fields.Date()
    order_deadline = fields.Date(allow_none=True)
    deadline = fields.Date()
    status = fields.String()
    decided_on = fields.Date(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    listed_on = fields.Date(allow_none=True)
    removal_requested_on = fields.Date(allow_none=True)
    removal_reason = fields.String(allow_none=True)
    removal_deadline = fields.Date(allow_none=True)
    removed_on = fields.Date(allow_none=True)


class ListingViewOut(Schema):
    listing = fields.Nested(ListingOut)
    overdue = fields.Boolean()
    due = fields.Date(allow_none=True)
    serious_candidate = fields.Boolean()
    serious_since = fields.Date(allow_none=True)
