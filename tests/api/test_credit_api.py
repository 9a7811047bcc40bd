"""The credit feed (cursor-paged JSON Lines / CSV, read tokens) and the gateway's outbox API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from shuangsuiji.services.accounts import tokens
from shuangsuiji.services.platform import outbox
from shuangsuiji.services.results import credit

from .. import factories


def _bearer(session, user, scope="read"):
    _, secret = tokens.issue(session, actor=user, name="t", scope=scope, days=30, max_days=365)
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _publish(session, user, entity, ref, codes):
    return credit.on_result_published(
        session,
        actor=user,
        entity_id=entity.id,
        department_id=entity.department_id,
        inspection_ref=ref,
        codes=codes,
        checked_on=dt.date(2030, 3, 4),
        published_at=dt.datetime(2030, 3, 20, tzinfo=dt.UTC),
    )


@pytest.fixture
def events(session, world):
    a = factories.EntityFactory(department=world["a"], name='=HYPERLINK("x")商贸')
    b = factories.EntityFactory(department=world["b"])
    made = _publish(session, world["admin_a"], a, "inspection:1", ["6"])
    made += _publish(session, world["admin_b"], b, "inspection:2", ["1"])
    made += _publish(session, world["admin_a"], a, "inspection:3", ["1"])
    session.commit()
    return made


def _lines(response):
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


def test_feed_pages_by_cursor_until_empty(client, session, world, events):
    headers = _bearer(session, world["auditor"])
    seen, after = [], 0
    while True:
        response = client.get(f"/api/v1/credit/events?after={after}&limit=2", headers=headers)
        assert response.status_code == 200
        assert response.mimetype == "application/x-ndjson"
        page = _lines(response)
        if not page:
            assert response.headers["X-Next-Cursor"] == str(after)
            break
        seen += page
        after = int(response.headers["X-Next-Cursor"])
        assert after == page[-1]["id"]
    assert [d["id"] for d in seen] == [e.id for e in events]
    assert seen[1]["type"] == "unreachable" and seen[1]["listing"]["deadline"]


def test_feed_is_scoped_to_the_tokens_department(client, session, world, events):
    headers = _bearer(session, world["admin_b"])
    page = _lines(client.get("/api/v1/credit/events", headers=headers))
    assert [d["source"] for d in page] == ["inspection:2"]


def test_feed_as_csv_escapes_formulas(client, session, world, events):
    headers = _bearer(session, world["admin_a"])
    response = client.get("/api/v1/credit/events?format=csv", headers=headers)
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["source"] for r in rows] == ["inspection:1", "inspection:1", "inspection:3"]
    assert rows[0]["entity_name"].startswith("'=HYPERLINK")
    assert json.loads(rows[1]["document"])["type"] == "unreachable"


def test_feed_refuses_bad_parameters(client, session, world):
    headers = _bearer(session, world["auditor"])
    response = client.get("/api/v1/credit/events?after=-1&format=xml", headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["query"]) == {"after", "format"}


def test_feed_needs_a_token_or_session(client):
    assert client.get("/api/v1/credit/events").status_code == 401


def test_inspectors_do_not_read_the_feed(client, session, world):
    headers = _bearer(session, world["insp_a"])
    assert client.get("/api/v1/credit/events", headers=headers).status_code == 403


def test_gateway_reads_queued_sms_and_reports_sent(client, session, world):
    message = outbox.enqueue(session, channel="sms", recipient="13800000000", body="到期提醒")
    session.commit()
    read = _bearer(session, world["sysadmin"])
    listed = client.get("/api/v1/outbox/messages?channel=sms", headers=read).get_json()
    assert [m["id"] for m in listed] == [message.id] and listed[0]["body"] == "到期提醒"
    refused = client.post(
        f"/api/v1/outbox/messages/{message.id}/report", json={"sent": True}, headers=read
    )
    assert refused.status_code == 403  # a read token cannot report
    write = _bearer(session, world["sysadmin"], scope="write")
    done = client.post(
        f"/api/v1/outbox/messages/{message.id}/report", json={"sent": True}, headers=write
    )
    assert done.status_code == 200 and done.get_json()["status"] == "sent"
    assert client.get("/api/v1/outbox/messages?channel=sms", headers=read).get_json() == []


def test_gateway_failure_without_a_reason_is_refused(client, session, world):
    message = outbox.enqueue(session, channel="email", recipient="a@example.cn", body="x")
    session.commit()
    write = _bearer(session, world["sysadmin"], scope="write")
    response = client.post(
        f"/api/v1/outbox/messages/{message.id}/report", json={"sent": False}, headers=write
    )
    assert response.status_code == 422
    assert "error" in response.get_json()["errors"]


def test_listing_workflow_over_the_api(client, session, world, events):
    write = _bearer(session, world["admin_a"], scope="write")
    [view] = client.get("/api/v1/credit/listings", headers=write).get_json()["items"]
    assert view["listing"]["status"] == "candidate" and view["due"] == view["listing"]["deadline"]
    url = f"/api/v1/credit/listings/{view['listing']['id']}"
    refused = client.post(f"{url}/dismiss", json={}, headers=write)
    assert refused.status_code == 422 and "reason" in refused.get_json()["errors"]
    listed = client.post(f"{url}/list", json={}, headers=write)
    assert listed.status_code == 200 and listed.get_json()["listing"]["status"] == "listed"
    assert client.post(f"{url}/list", json={}, headers=write).status_code == 409
    other = _bearer(session, world["admin_b"], scope="write")
    assert client.get(url, headers=other).status_code == 404
    assert (
        client.post(f"{url}/request_removal", json={"reason": "x"}, headers=other).status_code
        == 404
    )
