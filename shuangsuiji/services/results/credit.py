"""The credit record (信用): credit events from published results, the 经营异常名录 workflow,
and the outbound feed for the credit platform.

`on_result_published` is what the publication of a result calls: the configured rules
(domain/credit_rules.py) turn the result codes into credit events and, for the listing
grounds, 经营异常名录 candidates with their deadline. Every event is also queued for the
credit platform's webhook when one is configured. Everything flushes, nothing commits.

Feed order: an event's id is the feed's cursor, so ids must become visible in id order. On
PostgreSQL a transaction takes the credit feed's advisory lock before it inserts events and
holds it until it ends, so no event with a smaller id can commit after one with a larger id
has been read (a sequence alone allows that: ids are handed out at insert, not at commit).
SQLite has a single writer anyway.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session

from ...db import AbnormalListing, CreditEvent, Department, Entity, User
from ...db.states import ListingStatus
from ...domain.credit_rules import ANY, RESULT_CODES, CreditRule, RuleError, matching, parse_rules
from ...errors import Conflict, Forbidden, Invalid, NotFound
from ..pages import Keyset, keyset
from ..platform import audit, outbox, workdays
from ..scope import is_sysadmin, reads_all, require_admin_of, visible

# An arbitrary constant naming the credit feed's lock on PostgreSQL ("SSJCREDT").
_PG_LOCK_KEY = 0x5353_4A43_5245_4454 & 0x7FFF_FFFF_FFFF_FFFF

GROUNDS = {
    "6": "通过登记的住所（经营场所）无法联系",
    "C": "公示信息隐瞒真实情况、弄虚作假",
    "B": "未按规定公示应当公示的信息",
    "8": "不配合检查情节严重",
}
EVENT_LABELS = {
    "inspection_result": "抽查结果公示",
    "unreachable": "住所无法联系",
    "false_information": "公示信息弄虚作假",
    "information_not_published": "未按规定公示信息",
    "refused_inspection": "不配合检查情节严重",
    "abnormal_listed": "列入经营异常名录",
    "abnormal_dismissed": "不予列入经营异常名录",
    "abnormal_removal_requested": "申请移出经营异常名录",
    "abnormal_removed": "移出经营异常名录",
}
SOURCE_KINDS = {"inspection": "检查结果记录", "listing": "经营异常名录记录"}


def source_label(source: str) -> str:
    """Where an event comes from, in words: "inspection:6" is 检查结果记录 #6."""
    kind, _, ref = source.partition(":")
    return f"{SOURCE_KINDS[kind]} #{ref}" if kind in SOURCE_KINDS and ref else source


LISTING_STATUS_LABELS = {
    ListingStatus.CANDIDATE: "列入候选",
    ListingStatus.LISTED: "已列入",
    ListingStatus.DISMISSED: "不予列入",
    ListingStatus.REMOVAL_REQUESTED: "待移出",
    ListingStatus.REMOVED: "已移出",
}


@dataclass(frozen=True)
class CreditSettings:
    """The credit configuration, checked once at start-up (`from_config`)."""

    rules: tuple[CreditRule, ...] = field(default_factory=lambda: parse_rules(""))
    removal_days: int = 7
    serious_years: int = 3
    webhook_url: str = ""

    @classmethod
    def from_config(cls, config) -> CreditSettings:
        """RuleError (a ValueError) names what is wrong."""
        rules = parse_rules(config["CREDIT_RULES"])
        for key in ("CREDIT_REMOVAL_DAYS", "CREDIT_SERIOUS_LIST_YEARS"):
            if config[key] < 1:
                raise RuleError(f"{key} must be ≥ 1, got {config[key]!r}")
        url = config["CREDIT_WEBHOOK_URL"].strip()
        if url and not url.startswith(("http://", "https://")):
            raise RuleError("CREDIT_WEBHOOK_URL must start with http:// or https://")
        if url and len(config["WEBHOOK_SECRET"]) < 16:
            raise RuleError("CREDIT_WEBHOOK_URL needs WEBHOOK_SECRET (at least 16 characters)")
        return cls(rules, config["CREDIT_REMOVAL_DAYS"], config["CREDIT_SERIOUS_LIST_YEARS"], url)


_installed = CreditSettings()


def install(settings: CreditSettings) -> None:
    """Make `settings` the process's credit configuration (the app factory does this)."""
    global _installed
    _installed = settings


def current() -> CreditSettings:
    return _installed


# --- events -----------------------------------------------------------------------------------


def _lock_feed(session: Session) -> None:
    """Held until the transaction ends; taking it again in the same transaction is free."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def event_document(event: CreditEvent) -> dict:
    """The event as the feed and the webhook send it."""
    return {"id": event.id, **event.data}


@dataclass(frozen=True)
class EventFacts:
    """What a credit event says: its type, where it comes from (a result, a listing), the rule
    or action behind it, the day it happened, the result code, and details for the payload."""

    event_type: str
    source: str
    rule: str
    occurred_on: dt.date
    result_code: str | None = None
    details: dict = field(default_factory=dict)


def _add_event(
    session: Session,
    *,
    actor: User | None,
    entity: Entity,
    department: Department,
    facts: EventFacts,
    settings: CreditSettings,
) -> CreditEvent:
    _lock_feed(session)
    event_type = facts.event_type
    payload = {
        "type": event_type,
        "uscc": entity.uscc,
        "entity_name": entity.name,
        "department_code": department.code,
        "department_name": department.name,
        "source": facts.source,
        "rule": facts.rule,
        "result_code": facts.result_code,
        "occurred_on": facts.occurred_on.isoformat(),
        **facts.details,
    }
    event = CreditEvent(
        department_id=department.id,
        entity_id=entity.id,
        uscc=entity.uscc,
        event_type=event_type,
        source=facts.source,
        rule=facts.rule,
        result_code=facts.result_code,
        occurred_on=facts.occurred_on,
        payload=json.dumps(payload, ensure_ascii=False, sort_keys=True),
    )
    session.add(event)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="credit.event",
        object_type="credit_event",
        object_id=event.id,
        after=event_document(event),
        department_id=department.id,
    )
    if settings.webhook_url:
        outbox.enqueue(
            session,
            channel="webhook",
            recipient=settings.webhook_url,
            subject=f"credit_event.{event_type}",
            body=event_document(event),
            dedup_key=f"credit-event:{event.id}",
            department_id=department.id,
            actor=actor,
        )
    return event


def _check_codes(codes: Sequence[str]) -> list[str]:
    cleaned = [str(c).strip().upper() for c in codes]
    unknown = [c for c in cleaned if c not in RESULT_CODES]
    if not cleaned or unknown:
        reason = f"未知的检查结果代码：{'、'.join(unknown)}" if unknown else "至少需要一个结果代码"
        raise Invalid("检查结果代码无效", errors={"codes": [reason]})
    return list(dict.fromkeys(cleaned))


# Keyword-only: the facts of one publication, named at each call (PLR0913 counts them).
def on_result_published(  # noqa: PLR0913
    session: Session,
    *,
    actor: User | None,
    entity_id: int,
    department_id: int,
    inspection_ref: str,
    codes: list[str],
    checked_on: dt.date,
    published_at: dt.datetime,
    settings: CreditSettings | None = None,
) -> list[CreditEvent]:
    """Create the credit events (and 经营异常名录 candidates) that a published result calls for.

    `codes` are the result codes of all matters of the visit; `checked_on` is the date the
    facts were verified (the listing clock starts there); `inspection_ref` names the result
    ("inspection:123"). Idempotent per (inspection_ref, rule): publishing again returns only
    the events that did not exist yet (none). `actor` None is the system. Flushes only.
    """
    settings = settings or current()
    codes = _check_codes(codes)
    if not inspection_ref or len(inspection_ref) > 100:
        raise Invalid("结果来源标识无效", errors={"inspection_ref": ["长度须为 1 至 100 个字符"]})
    if actor is not None and not is_sysadmin(actor) and actor.department_id != department_id:
        raise Forbidden("无权公示其他部门的检查结果")
    entity = session.get(Entity, entity_id)
    department = session.get(Department, department_id)
    if entity is None or department is None:
        raise NotFound("检查对象或部门不存在")
    # Before looking for existing events: the same result published twice at once waits here,
    # then finds the first one's events instead of failing on the unique constraint.
    _lock_feed(session)
    calendar = None
    created: list[CreditEvent] = []
    for rule in matching(settings.rules, codes):
        exists = session.scalar(
            select(CreditEvent.id).where(
                CreditEvent.source == inspection_ref, CreditEvent.rule == rule.key
            )
        )
        if exists is not None:
            continue
        code = None if rule.code == ANY else rule.code
        details: dict = {"codes": codes, "published_at": published_at.isoformat()}
        if rule.listing:
            calendar = calendar or workdays.load(session)
            listing = _add_candidate(
                session,
                actor=actor,
                entity=entity,
                department=department,
                rule=rule,
                source=inspection_ref,
                verified_on=checked_on,
                calendar=calendar,
            )
            details["listing"] = {
                "id": listing.id,
                "status": listing.status,
                "order_deadline": listing.order_deadline and listing.order_deadline.isoformat(),
                "deadline": listing.deadline.isoformat(),
            }
        created.append(
            _add_event(
                session,
                actor=actor,
                entity=entity,
                department=department,
                facts=EventFacts(
                    event_type=rule.event,
                    source=inspection_ref,
                    rule=rule.key,
                    occurred_on=checked_on,
                    result_code=code,
                    details=details,
                ),
                settings=settings,
            )
        )
    return created


def events_for_entity(session: Session, actor: User, entity_id: int) -> list[CreditEvent]:
    """The entity's credit events the actor may read, newest first."""
    return list(
        session.scalars(
            select(CreditEvent)
            .where(CreditEvent.entity_id == entity_id, visible(actor, CreditEvent.department_id))
            .order_by(CreditEvent.id.desc())
        )
    )


def feed(session: Session, actor: User, *, after: int, limit: int) -> list[CreditEvent]:
    """The events after the cursor `after` (an event id), ascending, at most `limit`: the
    whole deployment's for the system administrator and the auditor, else the department's.
    The next cursor is the last event's id (see the module docstring for why no event can
    later appear below it)."""
    return list(
        session.scalars(
            select(CreditEvent)
            .where(CreditEvent.id > after, visible(actor, CreditEvent.department_id))
            .order_by(CreditEvent.id)
            .limit(limit)
        )
    )


# --- 经营异常名录 ------------------------------------------------------------------------------


def _add_candidate(
    session: Session,
    *,
    actor: User | None,
    entity: Entity,
    department: Department,
    rule: CreditRule,
    source: str,
    verified_on: dt.date,
    calendar: workdays.Calendar,
) -> AbnormalListing:
    order_deadline = None
    start = verified_on
    if rule.order_days:
        order_deadline = start = verified_on + dt.timedelta(days=rule.order_days)
    listing = AbnormalListing(
        department_id=department.id,
        entity_id=entity.id,
        source=source,
        rule=rule.key,
        result_code=rule.code,
        ground=GROUNDS.get(rule.code, rule.event),
        verified_on=verified_on,
        order_deadline=order_deadline,
        deadline=calendar.add_workdays(start, rule.listing_workdays),
        status=ListingStatus.CANDIDATE,
    )
    session.add(listing)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="credit.listing_candidate",
        object_type="abnormal_listing",
        object_id=listing.id,
        after=listing_snapshot(listing),
        department_id=department.id,
    )
    return listing


def listing_snapshot(listing: AbnormalListing) -> dict:
    names = [c.name for c in AbnormalListing.__table__.columns if c.name not in ("updated_at",)]
    return {n: audit_value(getattr(listing, n)) for n in names}


def audit_value(value):
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


@dataclass(frozen=True)
class ListingView:
    """A listing with what is computed from today: overdue and 严重违法失信名单 candidacy."""

    listing: AbnormalListing
    overdue: bool
    due: dt.date | None  # the deadline that applies now (decision or removal)
    serious_candidate: bool
    serious_since: dt.date | None


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def view(listing: AbnormalListing, today: dt.date, settings: CreditSettings) -> ListingView:
    due = None
    if listing.status == ListingStatus.CANDIDATE:
        due = listing.deadline
    elif listing.status == ListingStatus.REMOVAL_REQUESTED:
        due = listing.removal_deadline
    serious_since = None
    if (
        listing.status in (ListingStatus.LISTED, ListingStatus.REMOVAL_REQUESTED)
        and listing.listed_on
    ):
        serious_since = _add_years(listing.listed_on, settings.serious_years)
    return ListingView(
        listing=listing,
        overdue=due is not None and due < today,
        due=due,
        serious_candidate=serious_since is not None and serious_since <= today,
        serious_since=serious_since,
    )


# The open work by its deadline, most urgent first; the whole history newest first.
URGENT_FIRST = ((AbnormalListing.deadline, False), (AbnormalListing.id, False))
NEWEST_FIRST = ((AbnormalListing.id, True),)
OPEN_STATUSES = (ListingStatus.CANDIDATE, ListingStatus.REMOVAL_REQUESTED)


def listing_order(status: str | None, overdue_only: bool):
    return URGENT_FIRST if overdue_only or status in OPEN_STATUSES else NEWEST_FIRST


def listing_query(
    actor: User, *, today: dt.date, status: str | None = None, overdue_only: bool = False
):
    """The 经营异常名录 records the actor may read with the list's filters, in its order: the
    open ones (a status still to act on, or overdue only) by deadline, the others newest
    first."""
    query = select(AbnormalListing).where(visible(actor, AbnormalListing.department_id))
    if status:
        if status not in LISTING_STATUS_LABELS:
            raise Invalid("状态无效", errors={"status": ["状态无效"]})
        query = query.where(AbnormalListing.status == status)
    if overdue_only:  # the same rule as view(): past the deadline of the step still open
        query = query.where(
            or_(
                and_(
                    AbnormalListing.status == ListingStatus.CANDIDATE,
                    AbnormalListing.deadline < today,
                ),
                and_(
                    AbnormalListing.status == ListingStatus.REMOVAL_REQUESTED,
                    AbnormalListing.removal_deadline < today,
                ),
            )
        )
    return query.order_by(
        *(c.desc() if desc else c.asc() for c, desc in listing_order(status, overdue_only))
    )


def listing_page(
    session: Session,
    actor: User,
    *,
    today: dt.date,
    status: str | None = None,
    overdue_only: bool = False,
    cursor: str | None = None,
    limit: int = 50,
    settings: CreditSettings | None = None,
) -> Keyset:
    """One page of listing_query after `cursor`, as views. Every record of every year is
    reachable page by page."""
    settings = settings or current()
    query = listing_query(actor, today=today, status=status, overdue_only=overdue_only)
    page = keyset(session, query, listing_order(status, overdue_only), cursor=cursor, limit=limit)
    return Keyset(
        items=[view(x, today, settings) for x in page.items], next=page.next, limit=page.limit
    )


def listings(
    session: Session,
    actor: User,
    *,
    today: dt.date,
    status: str | None = None,
    overdue_only: bool = False,
    settings: CreditSettings | None = None,
    limit: int = 500,
) -> list[ListingView]:
    """The first `limit` records of listing_page."""
    return listing_page(
        session,
        actor,
        today=today,
        status=status,
        overdue_only=overdue_only,
        limit=limit,
        settings=settings,
    ).items


def get_listing(
    session: Session, actor: User, listing_id: int, *, lock: bool = False
) -> AbnormalListing:
    """`lock`: for a step (PostgreSQL: FOR UPDATE, so two clicks at once do one step)."""
    listing = session.get(
        AbnormalListing, listing_id, with_for_update=lock or None, populate_existing=lock
    )
    if listing is None or not (reads_all(actor) or listing.department_id == actor.department_id):
        raise NotFound("经营异常名录记录不存在")
    return listing


def listing_events(session: Session, listing: AbnormalListing) -> list[CreditEvent]:
    """The events of a listing: the result's that created it, then each step's."""
    return list(
        session.scalars(
            select(CreditEvent)
            .where(
                ((CreditEvent.source == listing.source) & (CreditEvent.rule == listing.rule))
                | (CreditEvent.source == f"listing:{listing.id}")
            )
            .order_by(CreditEvent.id)
        )
    )


ACTIONS = {
    # action: (from status, to status, event type, reason required)
    "list": (ListingStatus.CANDIDATE, ListingStatus.LISTED, "abnormal_listed", False),
    "dismiss": (ListingStatus.CANDIDATE, ListingStatus.DISMISSED, "abnormal_dismissed", True),
    "request_removal": (
        ListingStatus.LISTED,
        ListingStatus.REMOVAL_REQUESTED,
        "abnormal_removal_requested",
        True,
    ),
    "remove": (ListingStatus.REMOVAL_REQUESTED, ListingStatus.REMOVED, "abnormal_removed", False),
}
# The listing workflow's steps as a button and a message name them (not audit actions: those
# are in platform/audit_actions.py).
STEP_LABELS = {
    "list": "列入经营异常名录",
    "dismiss": "不予列入",
    "request_removal": "申请移出（列入事由已消除）",
    "remove": "移出经营异常名录",
}


def decide(
    session: Session,
    *,
    actor: User,
    listing_id: int,
    action: str,
    today: dt.date,
    reason: str = "",
    settings: CreditSettings | None = None,
) -> AbnormalListing:
    """One step of the workflow (ACTIONS), by an administrator of the listing's department.

    Listing waits for the end of an order to correct (责令期限); listing sets the entity's
    经营异常名录 flag, removal clears it unless another record still lists the entity. Each
    step is audited and creates a credit event ("listing:<id>", the step).
    """
    settings = settings or current()
    if action not in ACTIONS:
        raise Invalid(f"操作无效：{action}")
    listing = get_listing(session, actor, listing_id, lock=True)
    require_admin_of(actor, listing.department_id)
    source_status, target, event_type, needs_reason = ACTIONS[action]
    reason = (reason or "").strip()
    if listing.status != source_status:
        raise Conflict(
            f"该记录当前状态为“{LISTING_STATUS_LABELS[listing.status]}”，不能{STEP_LABELS[action]}"
        )
    if needs_reason and not reason:
        raise Invalid("请填写理由", errors={"reason": ["不能为空"]})
    if len(reason) > 2000:
        raise Invalid("理由过长", errors={"reason": ["不超过 2000 个字符"]})
    if action == "list" and listing.order_deadline and today <= listing.order_deadline:
        raise Conflict(
            f"责令限期公示的期限（至 {listing.order_deadline.isoformat()}）未满，暂不能列入"
        )
    before = listing_snapshot(listing)
    entity = listing.entity
    was_listed = entity.abnormal_listed
    listing.status = target
    details: dict = {"listing_id": listing.id, "ground": listing.ground}
    if action in ("list", "dismiss"):
        listing.decided_on, listing.decision_reason = today, reason or None
        if action == "list":
            listing.listed_on = today
            entity.abnormal_listed = True
            details["serious_list_from"] = _add_years(today, settings.serious_years).isoformat()
    elif action == "request_removal":
        listing.removal_requested_on, listing.removal_reason = today, reason
        listing.removal_deadline = today + dt.timedelta(days=settings.removal_days)
        details["removal_deadline"] = listing.removal_deadline.isoformat()
    else:
        listing.removed_on = today
        session.flush()
        still = session.scalar(
            select(AbnormalListing.id).where(
                AbnormalListing.entity_id == entity.id,
                AbnormalListing.status.in_((ListingStatus.LISTED, ListingStatus.REMOVAL_REQUESTED)),
            )
        )
        entity.abnormal_listed = still is not None
    if reason:
        details["reason"] = reason
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"credit.listing_{action}",
        object_type="abnormal_listing",
        object_id=listing.id,
        before={**before, "entity_abnormal_listed": was_listed},
        after={**listing_snapshot(listing), "entity_abnormal_listed": entity.abnormal_listed},
        department_id=listing.department_id,
    )
    _add_event(
        session,
        actor=actor,
        entity=entity,
        department=listing.department,
        facts=EventFacts(
            event_type=event_type,
            source=f"listing:{listing.id}",
            rule=action,
            occurred_on=today,
            result_code=listing.result_code,
            details=details,
        ),
        settings=settings,
    )
    return listing
