"""Credit events from published results, the 经营异常名录 workflow, the feed's order."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from shuangsuiji.db import (
    AbnormalListing,
    AuditEntry,
    CreditEvent,
    Database,
    OutboxMessage,
    User,
    make_engine,
)
from shuangsuiji.db.states import Role
from shuangsuiji.domain.credit_rules import RuleError, parse_rules
from shuangsuiji.errors import Conflict, Forbidden, Invalid, NotFound
from shuangsuiji.services.results import credit

from ... import factories
from ...concurrency import wait_for_lock_waiters

CHECKED = dt.date(2026, 9, 28)  # a Monday before the National Day holiday (10-01 … 10-07)
PUBLISHED = dt.datetime(2026, 10, 20, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def entity(world):
    return factories.EntityFactory(department=world["a"])


def publish(session, world, entity, codes, ref="inspection:1", **kwargs):
    return credit.on_result_published(
        session,
        actor=kwargs.pop("actor", world["admin_a"]),
        entity_id=entity.id,
        department_id=world["a"].id,
        inspection_ref=ref,
        codes=codes,
        checked_on=kwargs.pop("checked_on", CHECKED),
        published_at=PUBLISHED,
        **kwargs,
    )


def test_unreachable_result_makes_events_and_a_candidate_due_in_ten_working_days(
    session, world, entity
):
    events = publish(session, world, entity, ["A", "2", "6"])
    assert [e.event_type for e in events] == ["inspection_result", "unreachable"]
    listing = session.scalar(select(AbnormalListing))
    assert listing.status == "candidate"
    # 09-29, 09-30, the holiday 10-01 … 10-07, then 10-08, 10-09, the 调休 Saturday 10-10,
    # 10-12 … 10-16: the tenth working day.
    assert listing.deadline == dt.date(2026, 10, 16)
    document = credit.event_document(events[1])
    assert document["listing"]["deadline"] == listing.deadline.isoformat()
    assert document["uscc"] == entity.uscc
    assert document["codes"] == ["A", "2", "6"]


def test_publishing_twice_creates_nothing_twice(session, world, entity):
    publish(session, world, entity, ["6"])
    assert publish(session, world, entity, ["6"]) == []
    assert session.scalar(select(func.count()).select_from(CreditEvent)) == 2
    assert session.scalar(select(func.count()).select_from(AbnormalListing)) == 1


def test_clean_result_makes_only_the_result_event(session, world, entity):
    events = publish(session, world, entity, ["1"])
    assert [e.event_type for e in events] == ["inspection_result"]
    assert session.scalar(select(func.count()).select_from(AbnormalListing)) == 0


def test_refusal_is_published_without_a_listing_by_default(session, world, entity):
    events = publish(session, world, entity, ["8"])
    assert [e.event_type for e in events] == ["inspection_result", "refused_inspection"]
    assert session.scalar(select(func.count()).select_from(AbnormalListing)) == 0


def test_refusal_listing_can_be_switched_on_by_configuration(session, world, entity):
    rules = parse_rules([{"code": "8", "event": "refused", "listing": True, "listing_workdays": 5}])
    settings = credit.CreditSettings(rules=rules)
    publish(session, world, entity, ["8"], settings=settings)
    listing = session.scalar(select(AbnormalListing))
    assert listing.rule == "8:refused"


def test_not_published_information_gets_an_order_first(session, world, entity):
    publish(session, world, entity, ["B"])
    listing = session.scalar(select(AbnormalListing))
    assert listing.order_deadline == CHECKED + dt.timedelta(days=10)
    assert listing.deadline > listing.order_deadline
    with pytest.raises(Conflict):
        credit.decide(
            session,
            actor=world["admin_a"],
            listing_id=listing.id,
            action="list",
            today=listing.order_deadline,
        )


def test_unknown_codes_are_refused(session, world, entity):
    with pytest.raises(Invalid) as caught:
        publish(session, world, entity, ["6", "Z"])
    assert "Z" in caught.value.errors["codes"][0]


def test_another_departments_admin_cannot_publish(session, world, entity):
    with pytest.raises(Forbidden):
        publish(session, world, entity, ["6"], actor=world["admin_b"])


def test_events_are_append_only(session, world, entity):
    publish(session, world, entity, ["1"])
    with pytest.raises(DatabaseError), session.begin_nested():
        session.execute(text("UPDATE credit_events SET event_type = 'x'"))


def _candidate(session, world, entity):
    publish(session, world, entity, ["6"])
    return session.scalar(select(AbnormalListing))


def test_listing_sets_the_flag_and_removal_clears_it(session, world, entity):
    listing = _candidate(session, world, entity)
    admin = world["admin_a"]
    day = listing.deadline
    credit.decide(session, actor=admin, listing_id=listing.id, action="list", today=day)
    assert entity.abnormal_listed and listing.listed_on == day
    credit.decide(
        session,
        actor=admin,
        listing_id=listing.id,
        action="request_removal",
        today=day + dt.timedelta(days=30),
        reason="已在登记的住所恢复联系",
    )
    assert listing.removal_deadline == day + dt.timedelta(days=37)
    credit.decide(
        session, actor=admin, listing_id=listing.id, action="remove", today=day + dt.timedelta(31)
    )
    assert not entity.abnormal_listed and listing.status == "removed"
    steps = [e.event_type for e in credit.listing_events(session, listing)]
    assert steps == [
        "unreachable",
        "abnormal_listed",
        "abnormal_removal_requested",
        "abnormal_removed",
    ]
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.action.like("credit.listing_%"))
        .order_by(AuditEntry.seq)
    ).all()
    assert actions == [
        "credit.listing_candidate",
        "credit.listing_list",
        "credit.listing_request_removal",
        "credit.listing_remove",
    ]


def test_dismissal_needs_a_reason(session, world, entity):
    listing = _candidate(session, world, entity)
    with pytest.raises(Invalid):
        credit.decide(
            session, actor=world["admin_a"], listing_id=listing.id, action="dismiss", today=CHECKED
        )
    credit.decide(
        session,
        actor=world["admin_a"],
        listing_id=listing.id,
        action="dismiss",
        today=CHECKED,
        reason="复核确认住所可以联系",
    )
    assert listing.status == "dismissed" and not entity.abnormal_listed


def test_a_step_out_of_order_is_refused(session, world, entity):
    listing = _candidate(session, world, entity)
    with pytest.raises(Conflict):
        credit.decide(
            session, actor=world["admin_a"], listing_id=listing.id, action="remove", today=CHECKED
        )


def test_other_departments_cannot_see_or_decide(session, world, entity):
    listing = _candidate(session, world, entity)
    with pytest.raises(NotFound):
        credit.get_listing(session, world["admin_b"], listing.id)
    with pytest.raises(NotFound):
        credit.decide(
            session, actor=world["admin_b"], listing_id=listing.id, action="list", today=CHECKED
        )
    with pytest.raises(Forbidden):  # the inspector of A may read but not decide
        credit.decide(
            session, actor=world["insp_a"], listing_id=listing.id, action="list", today=CHECKED
        )
    assert credit.listings(session, world["admin_b"], today=CHECKED) == []


def test_overdue_and_serious_list_candidacy_are_computed(session, world, entity):
    listing = _candidate(session, world, entity)
    after = listing.deadline + dt.timedelta(days=1)
    [shown] = credit.listings(session, world["admin_a"], today=after)
    assert shown.overdue and shown.due == listing.deadline
    credit.decide(
        session, actor=world["admin_a"], listing_id=listing.id, action="list", today=after
    )
    settings = credit.current()
    assert not credit.view(listing, after, settings).serious_candidate
    three_years = dt.date(after.year + 3, after.month, after.day)
    later = credit.view(listing, three_years, settings)
    assert later.serious_candidate and later.serious_since == three_years
    assert not credit.view(listing, three_years - dt.timedelta(days=1), settings).serious_candidate


def test_events_are_queued_for_the_webhook_when_configured(session, world, entity):
    settings = credit.CreditSettings(webhook_url="https://credit.example/hook")
    events = publish(session, world, entity, ["6"], settings=settings)
    messages = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.dedup_key for m in messages] == [f"credit-event:{e.id}" for e in events]
    assert json.loads(messages[1].body)["type"] == "unreachable"


def test_no_webhook_messages_without_a_url(session, world, entity):
    publish(session, world, entity, ["6"])
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_feed_is_department_scoped_and_cursor_paged(session, world, entity):
    other = factories.EntityFactory(department=world["b"])
    publish(session, world, entity, ["6"])
    credit.on_result_published(
        session,
        actor=world["admin_b"],
        entity_id=other.id,
        department_id=world["b"].id,
        inspection_ref="inspection:2",
        codes=["1"],
        checked_on=CHECKED,
        published_at=PUBLISHED,
    )
    mine = credit.feed(session, world["admin_a"], after=0, limit=10)
    assert {e.department_id for e in mine} == {world["a"].id} and len(mine) == 2
    everything = credit.feed(session, world["auditor"], after=0, limit=10)
    assert len(everything) == 3
    first = credit.feed(session, world["auditor"], after=0, limit=2)
    rest = credit.feed(session, world["auditor"], after=first[-1].id, limit=2)
    assert [e.id for e in first + rest] == [e.id for e in everything]


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('[{"code": "Q", "event": "x"}]', "unknown result code"),
        ([{"code": "6", "event": "Bad Name"}], "event must match"),
        ([{"code": "6", "event": "x", "listing": True, "listing_workdays": -1}], "≥ 0"),
        ([{"code": "6", "event": "x", "order_days": 3}], "need listing"),
        ([{"code": "6", "event": "x", "colour": "red"}], "unknown key"),
        ([{"code": "6", "event": "x"}, {"code": "6", "event": "x"}], "twice"),
        ("not json", "not valid JSON"),
    ],
)
def test_bad_rule_tables_are_refused(table, problem):
    with pytest.raises(RuleError, match=problem):
        parse_rules(table)


def test_the_app_refuses_to_start_with_a_bad_rule_table():
    from shuangsuiji.app import create_app
    from shuangsuiji.settings import ConfigError

    with pytest.raises(ConfigError, match="CREDIT_RULES"):
        create_app({"ENV": "testing", "CREDIT_RULES": '[{"code": "Q", "event": "x"}]'})
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        create_app({"ENV": "testing", "CREDIT_WEBHOOK_URL": "https://credit.example/hook"})


@pytest.fixture
def live(scratch_url):
    """PostgreSQL only: a migrated empty database with one entity, and `publish(session, ref)`
    for sessions that really commit (the races below need two connections)."""
    from alembic import command

    from shuangsuiji.cli.db import alembic_config

    if not scratch_url.startswith("postgresql"):
        pytest.skip("SQLite has a single writer: nothing to race")
    command.upgrade(alembic_config(scratch_url), "head")
    db = Database(make_engine(scratch_url))
    with db.transaction() as session, factories.bound(session):
        department = factories.DepartmentFactory(code="D")
        entity = factories.EntityFactory(department=department, name="甲")
        root = factories.UserFactory(username="root", role=Role.SYSADMIN, department=None)
        ids = (entity.id, department.id, root.id)

    def publish_as(session, ref):
        return credit.on_result_published(
            session,
            actor=None,
            entity_id=ids[0],
            department_id=ids[1],
            inspection_ref=ref,
            codes=["6"],
            checked_on=CHECKED,
            published_at=PUBLISHED,
        )

    publish_as.root_id = ids[2]
    yield db, publish_as
    db.engine.dispose()


def _racing(db, publish_as, first_ref, second_ref):
    """The first writer publishes and holds its transaction open while a second one starts
    in a thread; returns what each created, and whether the second waited."""
    second: list = []
    first_session = db.session()
    first = [e.id for e in publish_as(first_session, first_ref)]

    def later_writer():
        with db.transaction() as session:
            second.append([e.id for e in publish_as(session, second_ref)])

    thread = threading.Thread(target=later_writer)
    thread.start()
    wait_for_lock_waiters(db.engine)  # the second writer is blocked, not merely slow
    waited = thread.is_alive() and second == []
    with db.transaction(write=False) as reader:
        assert credit.feed(reader, _Reader(), after=0, limit=10) == []  # nothing committed yet
    first_session.commit()
    first_session.close()
    thread.join(timeout=10)
    return first, second[0] if second else None, waited


def test_a_later_event_never_commits_below_an_earlier_uncommitted_one(live):
    """The feed's cursor is the event id: an event-writing transaction holds the feed lock
    until it ends, so a second writer gets its ids only after the first has committed."""
    first, second, waited = _racing(*live, "inspection:first", "inspection:second")
    assert waited
    assert second and max(first) < min(second)


def test_the_same_result_published_twice_at_once_creates_its_events_once(live):
    first, second, waited = _racing(*live, "inspection:same", "inspection:same")
    assert waited and len(first) == 2
    assert second == []  # found the first one's events, and did not fail


def test_two_clicks_on_the_same_step_do_it_once(live):
    db, publish_as = live
    with db.transaction() as session:
        publish_as(session, "inspection:clicks")
        listing_id = session.scalar(select(AbnormalListing.id))
    outcomes: list = []

    def click():
        with db.transaction() as session:
            root = session.get(User, publish_as.root_id)
            try:
                credit.decide(
                    session, actor=root, listing_id=listing_id, action="list", today=CHECKED
                )
                outcomes.append("listed")
            except Conflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes) == ["conflict", "listed"]


class _Reader:
    """A caller who reads every department (the feed only asks for the role)."""

    role = "auditor"
    department_id = None
