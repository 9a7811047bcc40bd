"""ID numbers, mobile numbers and e-mail addresses never enter the audit trail in clear: new
entries hold them masked with a keyed HMAC; older entries that hold them in clear are masked
when read (page and API, marked redacted) while the stored rows and the chain stay intact."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from shuangsuiji.db import AuditEntry
from shuangsuiji.services.platform import audit, redaction
from shuangsuiji.services.registry import records

from ...conftest import csrf_token, login

ID_NUMBER = "11010519491231002X"
OTHER_ID = "110101199003074477"


@pytest.fixture(autouse=True)
def key():
    redaction.install_key("test-audit-hmac-key")
    yield
    redaction.install_key("")


def _inspector(session, world, cert_no, **raw):
    return records.create(
        session,
        actor=world["admin_a"],
        kind="inspectors",
        department_id=world["a"].id,
        raw={"name": "张三", "cert_no": cert_no} | raw,
    )


def _entries(session, action):
    return session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    ).all()


def test_masking_keeps_the_ends_only():
    assert redaction.mask("id", ID_NUMBER) == "110105********002X"
    assert redaction.mask("phone", "13812345678") == "138****5678"
    assert redaction.mask("email", "Zhang.San@Example.cn") == "z***@example.cn"


def test_an_inspectors_id_number_phone_and_email_are_stored_masked_with_an_hmac(session, world):
    first = _inspector(session, world, "13001", id_number=ID_NUMBER, mobile="13812345678")
    records.update(
        session,
        actor=world["admin_a"],
        kind="inspectors",
        object_id=first.id,
        raw={"email": "zhangsan@example.cn", "id_number": OTHER_ID},
    )
    _inspector(session, world, "13002", id_number=ID_NUMBER.lower())

    created, second = _entries(session, "inspectors.create")
    [updated] = _entries(session, "inspectors.update")
    stored = created.after + updated.before + updated.after + second.after
    for clear in (ID_NUMBER, OTHER_ID, "13812345678", "zhangsan@example.cn"):
        assert clear not in stored
    after = json.loads(created.after)
    assert after["id_number"]["masked"] == "110105********002X"
    assert after["mobile"]["masked"] == "138****5678"
    assert json.loads(updated.after)["email"]["masked"] == "z***@example.cn"
    # The same number gives the same HMAC (equality can be checked), another one does not.
    same = json.loads(second.after)["id_number"]["hmac"]
    assert same == after["id_number"]["hmac"] == redaction.fingerprint("id_number", ID_NUMBER)
    assert json.loads(updated.after)["id_number"]["hmac"] != same
    redaction.install_key("another-key")
    assert redaction.fingerprint("id_number", ID_NUMBER) != same  # keyed: not a plain hash
    assert audit.verify(session).ok


def test_a_users_email_and_an_sms_recipient_are_masked_a_webhook_url_is_not():
    protected = redaction.protect(
        {
            "email": "li@example.cn",
            "recipient": "13900001111",
            "nested": [{"recipient": "https://credit.example.cn/hook"}],
        }
    )
    assert protected["email"]["masked"] == "l***@example.cn"
    assert protected["recipient"]["masked"] == "139****1111"
    assert protected["nested"] == [{"recipient": "https://credit.example.cn/hook"}]


def _old_entry(session, world):
    """An entry written before masking existed: the ID number in clear, chained like any."""
    before = audit.record(  # the head of the chain the old-style entry links to
        session, actor=world["admin_a"], action="audit.verify", object_type="x", object_id=0
    )
    entry = AuditEntry(
        seq=before.seq + 1,
        at=before.at,
        actor_id=world["admin_a"].id,
        actor_name="admin_a",
        department_id=world["a"].id,
        action="inspectors.update",
        object_type="inspectors",
        object_id="1",
        before=audit.canonical_json({"id_number": None, "name": "张三"}),
        after=audit.canonical_json({"id_number": ID_NUMBER, "name": "张三"}),
        prev_hash=before.hash,
    )
    entry.hash = audit.entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


def test_an_older_entry_in_clear_is_masked_when_read_and_left_as_stored(
    app, client, session, world
):
    entry = _old_entry(session, world)
    stored = entry.after
    session.commit()
    login(client, "admin_a")

    page = client.get("/console/audit?action=inspectors.update").get_data(as_text=True)
    assert ID_NUMBER not in page
    assert "110105********002X" in page and "已遮蔽敏感信息" in page

    token = csrf_token(client, "/console/tokens")
    [shown] = client.get(
        "/api/v1/audit/entries?action=inspectors.update", headers={"X-CSRFToken": token}
    ).get_json()["items"]
    assert shown["redacted"] is True and ID_NUMBER not in json.dumps(shown)
    assert json.loads(shown["after"])["id_number"] == "110105********002X"
    assert shown["action_label"] == "修改执法检查人员"

    session.expire_all()
    assert session.get(AuditEntry, entry.seq).after == stored  # the row is unchanged
    assert audit.verify(session).ok


def test_a_new_entry_is_shown_as_stored_and_not_marked(app, client, session, world):
    _inspector(session, world, "13003", id_number=ID_NUMBER)
    session.commit()
    login(client, "admin_a")
    [shown] = client.get("/api/v1/audit/entries?action=inspectors.create").get_json()["items"]
    stored = session.scalar(select(AuditEntry).where(AuditEntry.action == "inspectors.create"))
    assert shown["redacted"] is False and shown["after"] == stored.after
    page = client.get("/console/audit?action=inspectors.create").get_data(as_text=True)
    assert "110105********002X" in page and ID_NUMBER not in page


def test_entries_naming_a_number_are_found_by_its_hmac_the_number_never_in_a_url(
    app, client, session, world
):
    _inspector(session, world, "13004", id_number=ID_NUMBER)
    _inspector(session, world, "13005", id_number=OTHER_ID)
    session.commit()
    login(client, "admin_a")
    token = csrf_token(client, "/console/audit")
    found = client.post(
        "/console/audit/sensitive", data={"value": ID_NUMBER.lower(), "csrf_token": token}
    )
    assert found.status_code == 302 and ID_NUMBER.lower() not in found.headers["Location"]
    page = client.get(found.headers["Location"]).get_data(as_text=True)
    assert "13004" in page and "13005" not in page

    digest = redaction.search_fingerprint(ID_NUMBER)
    listed = client.get(f"/api/v1/audit/entries?hmac={digest}").get_json()["items"]
    assert [json.loads(e["after"])["cert_no"] for e in listed] == ["13004"]
    assert client.get("/api/v1/audit/entries?hmac=13004").status_code == 422
    refused = client.post("/console/audit/sensitive", data={"value": "张三", "csrf_token": token})
    assert refused.status_code == 302 and "hmac" not in refused.headers["Location"]
