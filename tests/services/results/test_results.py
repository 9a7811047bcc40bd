"""Result entry, review and publication; attachments; the public look-up."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from shuangsuiji.db import (
    AbnormalListing,
    AuditEntry,
    CreditEvent,
    InspectionAttachment,
    InspectionRecord,
)
from shuangsuiji.db.states import ListingStatus, RecordStatus, Role
from shuangsuiji.errors import Conflict, Forbidden, Invalid, NotFound
from shuangsuiji.services.plans import draws
from shuangsuiji.services.results import public_results, results

from ... import factories, results_world
from ...concurrency import wait_for_lock_waiters
from ...results_world import JPEG, PDF, PNG


@pytest.fixture
def w(session, world):
    return results_world.drawn(session, world)


def _save(session, w, actor, **overrides):
    raw = results_world.entry(w["matters"], **({"checked_on": w["checked_on"]} | overrides))
    return results.save(
        session,
        actor=actor,
        draw_id=w["draw"].id,
        position=w["row"].drawn.position,
        raw=raw,
        today=w["today"],
    )


def _submit(session, w, actor):
    return results.submit(
        session, actor=actor, draw_id=w["draw"].id, position=w["row"].drawn.position
    )


def _review(session, w, actor, decision="approve", comment=""):
    return results.review(
        session,
        actor=actor,
        draw_id=w["draw"].id,
        position=w["row"].drawn.position,
        decision=decision,
        comment=comment,
    )


def test_entry_review_publication_moves_the_entity_and_is_audited(session, world, w):
    entity = w["entity"]
    count = entity.check_count
    record = _save(session, w, world["insp_a"])
    assert record.status == RecordStatus.DRAFT and record.uscc == w["row"].drawn.uscc
    _submit(session, w, world["insp_a"])
    assert record.status == RecordStatus.SUBMITTED and record.submitted_at is not None
    _review(session, w, world["admin_a"])
    assert record.status == RecordStatus.PUBLISHED and record.published_at is not None
    session.refresh(entity)
    assert entity.last_checked_on == w["checked_on"]
    assert entity.check_count == count + 1
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.object_type == "inspection_record")
        .order_by(AuditEntry.seq)
    ).all()
    assert actions == ["results.save", "results.submit", "results.publish"]
    published = session.scalar(select(AuditEntry).where(AuditEntry.action == "results.publish"))
    after = json.loads(published.after)
    assert after["entity"]["check_count"] == count + 1
    assert set(after["results"]) == {str(m.id) for m in w["matters"]}


def test_an_inspector_not_on_the_team_gets_403_and_another_department_404(session, world, w):
    factories.InspectorFactory(department=world["a"], name="局外人", cert_no="X-1")
    other_user = world["insp_b"]  # another department's inspector account
    with pytest.raises(NotFound):
        _save(session, w, other_user)
    w["inspector"].user_id = None  # insp_a is no longer on the team
    session.flush()
    with pytest.raises(Forbidden):
        _save(session, w, world["insp_a"])


def test_a_reviewer_from_another_department_gets_404(session, world, w):
    _save(session, w, world["insp_a"])
    _submit(session, w, world["insp_a"])
    with pytest.raises(NotFound):
        _review(session, w, world["admin_b"])
    with pytest.raises(Forbidden):
        _review(session, w, world["insp_a"])


def test_nobody_reviews_their_own_submission(session, world, w):
    _save(session, w, world["admin_a"])
    _submit(session, w, world["admin_a"])
    with pytest.raises(Forbidden, match="自己"):
        _review(session, w, world["admin_a"])
    _review(session, w, world["sysadmin"])


def test_returned_records_are_corrected_and_resubmitted(session, world, w):
    _save(session, w, world["insp_a"])
    _submit(session, w, world["insp_a"])
    with pytest.raises(Invalid, match="审核意见"):
        _review(session, w, world["admin_a"], decision="return")
    _review(session, w, world["admin_a"], decision="return", comment="请补充照片")
    record = _save(session, w, world["insp_a"], notes="已补充")
    assert record.status == RecordStatus.RETURNED
    _submit(session, w, world["insp_a"])
    _review(session, w, world["admin_a"], decision="reject", comment="结果与照片不符")
    assert record.status == RecordStatus.REJECTED
    _submit(session, w, world["insp_a"])
    _review(session, w, world["admin_a"])
    assert record.status == RecordStatus.PUBLISHED


def test_published_and_submitted_records_cannot_be_edited(session, world, w):
    _save(session, w, world["insp_a"])
    _submit(session, w, world["insp_a"])
    with pytest.raises(Conflict, match="待审核"):
        _save(session, w, world["insp_a"])
    _review(session, w, world["admin_a"])
    with pytest.raises(Conflict, match="已公示"):
        _save(session, w, world["insp_a"])
    with pytest.raises(Conflict):
        _review(session, w, world["admin_a"])


def test_submit_names_every_missing_matter_and_the_date(session, world, w):
    first, second = w["matters"]
    raw = results_world.entry([first])
    results.save(
        session,
        actor=world["insp_a"],
        draw_id=w["draw"].id,
        position=0,
        raw=raw,
        today=w["today"],
    )
    with pytest.raises(Invalid) as caught:
        _submit(session, w, world["insp_a"])
    assert set(caught.value.errors) == {"checked_on", f"matter_{second.id}"}


def test_bad_entries_name_the_rule_per_matter_and_store_nothing(session, world, w):
    first, second = w["matters"]
    with pytest.raises(Invalid) as caught:
        _save(
            session,
            w,
            world["insp_a"],
            matters={
                str(first.id): {"codes": ["1", "6"], "methods": [], "measures": ["none"]},
                str(second.id): {"codes": ["3"], "methods": ["field"], "measures": ["other"]},
                "999999": {"codes": ["1"]},
            },
        )
    errors = caught.value.errors
    assert any("未发现问题" in m for m in errors[f"matter_{first.id}"])
    assert any("检查方式" in m for m in errors[f"matter_{first.id}"])
    assert any("其他" in m for m in errors[f"matter_{second.id}"])
    assert errors["matters"] == ["抽查事项 999999 不属于本任务"]
    assert results.get_visit(session, world["insp_a"], w["draw"].id, 0).record is None


def test_check_date_cannot_be_in_the_future(session, world, w):
    with pytest.raises(Invalid) as caught:
        _save(session, w, world["insp_a"], checked_on=w["today"].replace(year=2099))
    assert caught.value.errors["checked_on"] == ["检查日期不能晚于今天"]


def test_a_replacement_inspector_may_enter_and_the_withdrawn_one_may_not(session, world, w):
    row = w["row"]
    draws.replace(
        session,
        actor=world["admin_a"],
        draw_id=w["draw"].id,
        position=row.drawn.position,
        slot=row.members[0].slot,
        reason="ILLNESS",
        note="因病",
    )
    with pytest.raises(Forbidden):
        _save(session, w, world["insp_a"])
    current = draws.teams(session, w["draw"], offset=row.drawn.position, limit=1)[0]
    newcomer = current.members[0].inspector
    account = factories.UserFactory(username="insp_a2", role=Role.INSPECTOR, department=world["a"])
    newcomer.user_id = account.id  # the account linked to the replacement
    session.flush()
    assert _save(session, w, account).status == RecordStatus.DRAFT


# -- attachments ---------------------------------------------------------------------------


def _attach(session, w, actor, data, name="photo.png", max_bytes=1024):
    return results.add_attachment(
        session,
        actor=actor,
        draw_id=w["draw"].id,
        position=0,
        filename=name,
        data=data,
        max_bytes=max_bytes,
    )


@pytest.mark.parametrize("data", [PNG, JPEG, PDF])
def test_attachments_are_sniffed_and_stored_with_their_hash(session, world, w, data):
    found = _attach(session, w, world["insp_a"], data, name="../../现场照片\x00.png")
    assert found.sha256 == hashlib.sha256(data).hexdigest()
    assert found.size == len(data)
    assert found.filename == "现场照片" + {PNG: ".png", JPEG: ".jpg", PDF: ".pdf"}[data]
    assert found.content_type == results.sniff(data)
    session.expire_all()
    again = session.get(InspectionAttachment, found.id)
    assert "data" not in again.__dict__  # deferred: a record never pulls its files
    assert again.data == data


@pytest.mark.parametrize(
    ("name", "data", "kept_as"),
    [
        ("report.html", PDF, "report.pdf"),
        ("page.htm", PNG, "page.png"),
        ("照片", JPEG, "照片.jpg"),
        ("scan.JPEG", JPEG, "scan.JPEG"),
        ("a.b.svg", PNG, "a.b.png"),
        (".html", PDF, "附件.pdf"),
        ("", PDF, "附件.pdf"),
    ],
)
def test_an_attachment_is_named_by_its_sniffed_type(session, world, w, name, data, kept_as):
    assert _attach(session, w, world["insp_a"], data, name=name).filename == kept_as


def test_another_departments_draw_is_404_whether_or_not_the_position_exists(session, world, w):
    for position in (w["row"].drawn.position, 9999):
        with pytest.raises(NotFound):
            results.get_visit(session, world["admin_b"], w["draw"].id, position)


@pytest.mark.parametrize(
    "data",
    [b"GIF89a" + b"\x00" * 20, b"<svg onload=alert(1)>", b"MZ\x90\x00", b"<html><script>"],
)
def test_wrong_type_attachments_are_refused_whatever_their_name(session, world, w, data):
    with pytest.raises(Invalid, match="JPEG、PNG"):
        _attach(session, w, world["insp_a"], data, name="photo.jpg")


def test_oversized_and_empty_attachments_are_refused(session, world, w):
    with pytest.raises(Invalid, match="附件过大"):
        _attach(session, w, world["insp_a"], PNG + b"\x00" * 1024, max_bytes=1024)
    with pytest.raises(Invalid, match="附件为空"):
        _attach(session, w, world["insp_a"], b"")


def test_attachments_are_readable_by_the_department_only(session, world, w):
    found = _attach(session, w, world["insp_a"], PNG)
    assert results.attachment(session, world["admin_a"], found.id).id == found.id
    assert results.attachment(session, world["auditor"], found.id).id == found.id
    with pytest.raises(NotFound):
        results.attachment(session, world["admin_b"], found.id)
    with pytest.raises(NotFound):
        results.attachment(session, world["admin_a"], found.id + 1000)


# -- the public look-up --------------------------------------------------------------------


def _publish(session, world, w):
    _save(
        session,
        w,
        world["insp_a"],
        matters={
            str(w["matters"][0].id): {
                "codes": ["6"],
                "methods": ["field"],
                "measures": ["feedback"],
            }
        },
    )
    _submit(session, w, world["insp_a"])
    _review(session, w, world["admin_a"], comment="内部意见不公示")


def test_unpublished_results_do_not_exist_publicly(session, world, w):
    uscc = w["row"].drawn.uscc
    _save(session, w, world["insp_a"])
    _submit(session, w, world["insp_a"])
    with pytest.raises(NotFound):
        public_results.firm(session, uscc)
    assert public_results.search(session, uscc).hits == []
    assert public_results.search(session, w["entity"].name[:4]).hits == []


def test_published_results_are_found_by_uscc_and_by_name(session, world, w):
    _publish(session, world, w)
    uscc = w["row"].drawn.uscc
    by_code = public_results.search(session, uscc.lower())
    assert [(h.uscc, h.inspections) for h in by_code.hits] == [(uscc, 1)]
    by_name = public_results.search(session, w["entity"].name[2:7])
    assert [h.uscc for h in by_name.hits] == [uscc]
    doc = public_results.firm(session, uscc)
    assert doc["name"] == w["entity"].name
    [inspection] = doc["inspections"]
    assert inspection["department"] == world["a"].name
    first = inspection["matters"][0]
    assert [r["code"] for r in first["results"]] == ["A", "2", "6"]
    assert first["methods"] == ["实地检查"] and first["measures"] == ["反馈日常监管部门"]


def test_the_public_record_carries_no_class_personal_data_notes_or_inspectors(session, world, w):
    w["inspector"].id_number = "110101199003071234"
    w["entity"].risk_class = "D"
    session.flush()
    _publish(session, world, w)
    text = json.dumps(public_results.firm(session, w["row"].drawn.uscc), default=str)
    for secret in ("110101199003071234", "risk", "内部意见不公示", w["inspector"].name):
        assert secret not in text
    shown = public_results.firm(session, w["row"].drawn.uscc, show_inspectors=True)
    assert w["inspector"].name in shown["inspections"][0]["inspectors"]


def test_search_needs_two_characters_and_refuses_a_bad_cursor(session, world, w):
    with pytest.raises(Invalid, match="至少 2 个字"):
        public_results.search(session, "企")
    with pytest.raises(Invalid):
        public_results.search(session, "  ")
    with pytest.raises(Invalid, match="分页游标"):
        public_results.search(session, "测试企业", cursor="nonsense")
    with pytest.raises(Invalid):
        public_results.search(session, "%_%")  # punctuation alone would match every name
    _publish(session, world, w)
    assert public_results.search(session, "企业%").hits == []  # escaped, not a wildcard
    assert len(public_results.search(session, "企业").hits) == 1


def test_publishing_an_unreachable_firm_creates_its_credit_event_and_listing_candidate(
    session, world, w
):
    _publish(session, world, w)
    record = session.scalar(
        select(InspectionRecord).where(InspectionRecord.entity_id == w["entity"].id)
    )
    events = session.scalars(
        select(CreditEvent).where(CreditEvent.source == f"inspection:{record.id}")
    ).all()
    assert events and {e.result_code for e in events} >= {"6"}
    listing = session.scalar(
        select(AbnormalListing).where(AbnormalListing.source == f"inspection:{record.id}")
    )
    assert listing.status == ListingStatus.CANDIDATE and listing.entity_id == w["entity"].id
    assert listing.verified_on == w["checked_on"] and listing.deadline > listing.verified_on


def test_public_lookups_run_in_autocommit_on_postgresql(engine):
    """The firm look-up's session sends no BEGIN/COMMIT on PostgreSQL (one round trip fewer
    each way); elsewhere it is an ordinary reading session."""
    from shuangsuiji.db import Database

    session = Database(engine).lookup_session()
    try:
        dbapi = session.connection().connection.dbapi_connection
        if engine.dialect.name == "postgresql":
            assert dbapi.autocommit is True
        else:
            assert session.connection().get_execution_options().get("isolation_level") is None
    finally:
        session.close()


def test_two_reviewers_approving_at_once_publish_once(scratch_url):
    """Real, separately committed transactions: the second approval waits for the first
    (row lock on PostgreSQL, the write lock on SQLite) and is refused; the count moves once."""
    import threading

    from alembic import command

    from shuangsuiji.cli.db import alembic_config
    from shuangsuiji.db import Database, Entity, User, make_engine

    from ... import factories

    command.upgrade(alembic_config(scratch_url), "head")
    engine = make_engine(scratch_url)
    db = Database(engine)
    with db.transaction() as session:
        factories.bind(session)
        dept = factories.DepartmentFactory(code="DEPT-A")
        world = {
            "a": dept,
            "admin_a": factories.UserFactory(
                username="admin_a", role=Role.DEPT_ADMIN, department=dept
            ),
            "insp_a": factories.UserFactory(
                username="insp_a", role=Role.INSPECTOR, department=dept
            ),
            "sysadmin": factories.UserFactory(username="root", role=Role.SYSADMIN, department=None),
        }
        w = results_world.drawn(session, world)
        _save(session, w, world["insp_a"])
        _submit(session, w, world["insp_a"])
        ids = {name: world[name].id for name in ("admin_a", "sysadmin")}
        draw_id, entity_id = w["draw"].id, w["entity"].id
    factories.bind(None)

    outcomes: dict[str, str] = {}
    held = threading.Event()  # the first approval is made, not yet committed
    arriving = threading.Event()  # the second reviewer is about to approve

    def approve(name: str) -> None:
        try:
            with db.transaction() as session:
                results.review(
                    session,
                    actor=session.get(User, ids[name]),
                    draw_id=draw_id,
                    position=0,
                    decision="approve",
                    comment="",
                )
                if name == "admin_a":
                    held.set()
                    arriving.wait(30)
                    if engine.dialect.name == "postgresql":
                        wait_for_lock_waiters(engine)  # the second waits for the row
            outcomes[name] = "published"
        except Conflict as exc:
            outcomes[name] = exc.message
        except Exception as exc:  # shown by the assertion below, not lost in the thread
            outcomes[name] = repr(exc)

    def later(name: str) -> None:
        held.wait(30)
        arriving.set()
        approve(name)

    threads = [
        threading.Thread(target=approve, args=("admin_a",)),
        threading.Thread(target=later, args=("sysadmin",)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with db.transaction(write=False) as session:
        count = session.get(Entity, entity_id).check_count
    engine.dispose()
    assert outcomes["admin_a"] == "published", outcomes
    assert "不是待审核状态" in outcomes["sysadmin"], outcomes
    assert count == 1
