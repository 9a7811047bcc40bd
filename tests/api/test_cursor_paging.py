"""Keyset (cursor) paging of the API lists: first, middle and last page, an empty list, a
cursor past the end, a bad cursor; `next` and the Link header; no list stops at a limit."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import pytest
import time_machine
from sqlalchemy import select

from shuangsuiji.db import AbnormalListing, AuditEntry
from shuangsuiji.db.states import ListingStatus
from shuangsuiji.services import pages
from shuangsuiji.services.plans import draws, plans, public_plans
from shuangsuiji.services.platform import audit
from shuangsuiji.services.results import credit
from shuangsuiji.web import console

from .. import factories
from ..conftest import login


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client


def walk(client, url, limit):
    """Every page of `url` by its `next` links: the pages' items and the responses."""
    responses = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert len(body["items"]) <= limit
        responses.append(response)
        if body["next"]:
            assert response.headers["Link"] == f'<{body["next"]}>; rel="next"'
        else:
            assert "Link" not in response.headers
        url = body["next"]
    return responses


def check_paging(client, url, expected_ids, *, limit=2, id_of=lambda item: item["id"]):
    """`url` pages through exactly `expected_ids` in order, `limit` at a time."""
    sep = "&" if "?" in url else "?"
    responses = walk(client, f"{url}{sep}limit={limit}", limit)
    seen = [id_of(item) for r in responses for item in r.get_json()["items"]]
    assert seen == expected_ids
    assert len(responses) == max(1, -(-len(expected_ids) // limit))
    first, last = responses[0].get_json(), responses[-1].get_json()
    if len(expected_ids) > limit:
        assert first["next"] and f"limit={limit}" in first["next"]
        assert len(first["items"]) == limit
    assert last["next"] is None
    return responses


def forged(cursor: str) -> str:
    """The same keys as `cursor`, each value a string (an id "abc"): refused, never a 500."""
    document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    document["v"] = ["abc" for _ in document["v"]]
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


def check_bad_cursors(client, url, good: str):
    """`good` is a valid cursor of `url`'s ordering, to forge from."""
    sep = "&" if "?" in url else "?"
    other = pages.encode_cursor(((FakeKey("x"), True),), [1])
    for bad in ("nonsense!", "eyJrIjpbImlkIl19", other, forged(good)):
        response = client.get(f"{url}{sep}cursor={bad}")
        assert response.status_code == 422, bad
        assert "cursor" in response.get_json()["errors"], response.get_json()
    assert client.get(f"{url}{sep}limit=201").status_code == 422
    assert client.get(f"{url}{sep}limit=0").status_code == 422


class FakeKey:
    """A column name of another ordering, for a cursor that belongs to another list."""

    def __init__(self, key):
        self.key = key


@pytest.fixture
def committed(session, world):
    session.commit()
    return session


def test_plans_page_newest_first(app, session, world):
    made = [factories.PlanFactory(actor=world["admin_a"]) for _ in range(5)]
    factories.PlanFactory(actor=world["admin_b"])  # another department's: never listed
    session.commit()
    client = _client(app, "admin_a")
    newest_first = [p.id for p in reversed(made)]
    check_paging(client, "/api/v1/plans", newest_first, limit=2)  # 2 + 2 + 1
    check_paging(client, "/api/v1/plans", newest_first, limit=5)  # one full page, next null
    check_paging(client, "/api/v1/plans?status=draft", newest_first, limit=3)
    default = client.get("/api/v1/plans").get_json()
    assert [p["id"] for p in default["items"]] == newest_first
    assert default["limit"] == 50 and default["next"] is None
    # A cursor past the end: an empty page, no next.
    past = pages.encode_cursor(plans.NEWEST_PLANS, [min(newest_first)])
    body = client.get(f"/api/v1/plans?cursor={past}").get_json()
    assert body == {"items": [], "next": None, "limit": 50}
    check_bad_cursors(client, "/api/v1/plans", past)


def test_plans_page_empty(app, session, world):
    session.commit()
    client = _client(app, "admin_b")
    check_paging(client, "/api/v1/plans", [])
    check_paging(client, "/api/v1/plans?status=closed", [])


def test_a_plan_made_between_two_pages_does_not_shift_the_next(app, session, world):
    made = [factories.PlanFactory(actor=world["admin_a"]) for _ in range(4)]
    session.commit()
    client = _client(app, "admin_a")
    first = client.get("/api/v1/plans?limit=2").get_json()
    factories.PlanFactory(actor=world["admin_a"])
    session.commit()
    second = client.get(first["next"]).get_json()
    assert [p["id"] for p in second["items"]] == [made[1].id, made[0].id]


# -- 经营异常名录 ------------------------------------------------------------------------------


def _listing(department, entity, n, *, deadline, status=ListingStatus.CANDIDATE, removal=None):
    return AbnormalListing(
        department_id=department.id,
        entity_id=entity.id,
        source=f"inspection:{n}",
        rule="R1",
        result_code="6",
        ground="通过登记的住所或者经营场所无法联系",
        verified_on=dt.date(2026, 1, 5),
        deadline=deadline,
        status=status,
        removal_deadline=removal,
    )


@pytest.fixture
def listings(session, world):
    """Seven records of department A (deadlines with ties, every open status) and two of B."""
    a = factories.EntityFactory(department=world["a"])
    b = factories.EntityFactory(department=world["b"])
    day = dt.date(2026, 3, 1)
    rows = [
        _listing(world["a"], a, 1, deadline=day),
        _listing(world["a"], a, 2, deadline=day - dt.timedelta(days=9)),  # overdue
        _listing(world["b"], b, 3, deadline=day),
        _listing(world["a"], a, 4, deadline=day),  # same deadline as 1
        _listing(world["a"], a, 5, deadline=day, status=ListingStatus.LISTED),
        _listing(
            world["a"],
            a,
            6,
            deadline=day - dt.timedelta(days=30),
            status=ListingStatus.REMOVAL_REQUESTED,
            removal=day - dt.timedelta(days=1),  # overdue
        ),
        _listing(world["a"], a, 7, deadline=day - dt.timedelta(days=20)),  # overdue
        _listing(world["b"], b, 8, deadline=day - dt.timedelta(days=20)),
        _listing(world["a"], a, 9, deadline=day, status=ListingStatus.REMOVED),
    ]
    session.add_all(rows)
    session.commit()
    return rows


def _listing_id(item):
    return item["listing"]["id"]


def test_listings_page_every_record(app, session, world, listings, monkeypatch):
    monkeypatch.setattr("shuangsuiji.api.credit.today", lambda: dt.date(2026, 3, 1))
    own = [x for x in listings if x.department_id == world["a"].id]
    client = _client(app, "admin_a")
    newest = [x.id for x in sorted(own, key=lambda x: -x.id)]
    check_paging(client, "/api/v1/credit/listings", newest, id_of=_listing_id)
    candidates = sorted(
        (x for x in own if x.status == ListingStatus.CANDIDATE), key=lambda x: (x.deadline, x.id)
    )
    check_paging(
        client,
        "/api/v1/credit/listings?status=candidate",
        [x.id for x in candidates],
        id_of=_listing_id,
    )
    overdue = [listings[6].id, listings[1].id]  # by deadline; no. 6's removal deadline passed
    overdue = [listings[5].id, *overdue]
    responses = check_paging(
        client, "/api/v1/credit/listings?overdue=true", overdue, limit=1, id_of=_listing_id
    )
    assert all(i["overdue"] for r in responses for i in r.get_json()["items"])
    assert "overdue=true" in responses[0].get_json()["next"]
    check_paging(client, "/api/v1/credit/listings?status=dismissed", [], id_of=_listing_id)
    sysadmin = _client(app, "root")  # the all-department list
    every = [x.id for x in sorted(listings, key=lambda x: -x.id)]
    check_paging(sysadmin, "/api/v1/credit/listings", every, limit=4, id_of=_listing_id)
    past = pages.encode_cursor(credit.NEWEST_FIRST, [min(every)])
    assert client.get(f"/api/v1/credit/listings?cursor={past}").get_json()["items"] == []
    check_bad_cursors(client, "/api/v1/credit/listings", past)
    # A cursor of the history order is refused by the open-work order.
    first = client.get("/api/v1/credit/listings?limit=1").get_json()["next"]
    cursor = first.split("cursor=")[1].split("&")[0]
    refused = client.get(f"/api/v1/credit/listings?status=candidate&cursor={cursor}")
    assert refused.status_code == 422


def test_listings_have_no_hidden_limit(app, session, world):
    """Beyond 500 records (where the list used to stop without a word) every one is reached."""
    entity = factories.EntityFactory(department=world["a"])
    day = dt.date(2026, 3, 1)
    session.add_all(_listing(world["a"], entity, n, deadline=day) for n in range(520))
    session.commit()
    client = _client(app, "root")
    responses = walk(client, "/api/v1/credit/listings?limit=200", 200)
    seen = [_listing_id(i) for r in responses for i in r.get_json()["items"]]
    assert len(seen) == len(set(seen)) == 520 and len(responses) == 3


# -- public commitments ------------------------------------------------------------------------


@pytest.fixture
def history(session, world, registry):
    """Five committed plans of department A (the oldest committed in 2019, two checking the
    registry's matter) and a draft, which is never public."""
    admin = world["admin_a"]
    with time_machine.travel(dt.datetime(2019, 3, 1, 2, tzinfo=dt.UTC), tick=True):
        oldest = factories.CommitmentFactory(actor=admin).plan
    made = [oldest]
    for n in range(4):
        matters = [registry["matter"]] if n % 2 else []
        plan = factories.PlanFactory(actor=admin, matters=matters)
        made.append(factories.CommitmentFactory(actor=admin, plan=plan).plan)
    factories.PlanFactory(actor=admin)  # a draft
    session.commit()
    return made


def test_public_plans_page_back_to_the_first(app, session, world, history):
    client = app.test_client()  # anonymous
    newest = [p.id for p in reversed(history)]
    responses = check_paging(client, "/api/v1/public/plans", newest, limit=2)
    assert responses[-1].get_json()["items"][-1]["code"] == history[0].code  # the first one
    check_paging(client, "/api/v1/public/plans?year=2019", [history[0].id])
    check_paging(client, "/api/v1/public/plans?year=2018", [])
    year = plans.latest_commitment(session, history[-1]).committed_at.astimezone(
        public_plans.BEIJING
    )
    check_paging(client, f"/api/v1/public/plans?year={year.year}", newest[:-1], limit=3)
    check_paging(client, f"/api/v1/public/plans?department_id={world['a'].id}", newest, limit=4)
    check_paging(client, f"/api/v1/public/plans?department_id={world['b'].id}", [])
    matter = history[2].matters[0].id
    check_paging(client, f"/api/v1/public/plans?matter_id={matter}", [history[4].id, history[2].id])
    past = pages.encode_cursor(plans.NEWEST_PLANS, [history[0].id])
    assert client.get(f"/api/v1/public/plans?cursor={past}").get_json()["items"] == []
    check_bad_cursors(client, "/api/v1/public/plans", past)


def test_public_plans_empty(app, session, world):
    session.commit()
    check_paging(app.test_client(), "/api/v1/public/plans", [])


# -- an inspector's tasks ----------------------------------------------------------------------


def test_inspector_tasks_page(app, session, world, registry):
    inspector = registry["inspectors"][0]
    session.commit()
    client = _client(app, "admin_a")
    url = f"/api/v1/inspectors/{inspector.id}/tasks"
    check_paging(client, url, [])  # nothing drawn yet: an empty list
    for _ in range(2):
        factories.DrawFactory(actor=world["admin_a"])
    session.commit()
    every = draws.inspector_tasks(session, world["admin_a"], inspector.id)
    keys = [(t["draw"].id, t["row"].drawn.position) for t in every]
    assert len({d for d, _p in keys}) == 2 and len(keys) >= 4
    assert keys == sorted(keys, key=lambda k: (-k[0], k[1]))  # newest draw first

    def key_of(item):
        return (item["draw_id"], item["team"]["position"])

    check_paging(client, url, keys, limit=2, id_of=key_of)
    check_paging(client, url, keys, limit=len(keys), id_of=key_of)
    past = pages.encode_cursor(draws.TASK_ORDER, [0, 0, 0])
    assert client.get(f"{url}?cursor={past}").get_json() == {"items": [], "next": None, "limit": 50}
    check_bad_cursors(client, url, past)
    other = _client(app, "admin_b")
    assert other.get(url).status_code == 404


def test_closed_plans_tasks_are_finished_not_current(app, session, world, registry):
    """An inspector's list opens on the tasks still open; a closed plan's are finished ones,
    by year (issue 19)."""
    done = factories.DrawFactory(actor=world["admin_a"])
    going = factories.DrawFactory(actor=world["admin_a"])

    def members(draw):
        return {
            m.inspector.id: m.inspector for row in draws.teams(session, draw) for m in row.members
        }

    # The draws' randomness decides who is on which team: take one who has work in both.
    held = members(done)
    inspector = next(i for key, i in members(going).items() if key in held)
    plans.close(session, actor=world["admin_a"], plan_id=done.plan_id)
    session.commit()
    client = _client(app, "admin_a")
    url = f"/api/v1/inspectors/{inspector.id}/tasks"

    def draws_of(query=""):
        items = walk(client, url + query, 50)[0].get_json()["items"]
        return {i["draw_id"] for i in items}

    assert draws_of() == {going.id}
    assert draws_of("?finished=true") == {done.id}
    year = done.created_at.astimezone(public_plans.BEIJING).year
    assert draws_of(f"?finished=true&year={year}") == {done.id}
    assert draws_of("?finished=true&year=2019") == set()
    assert client.get(url + "?year=1").status_code == 422
    html = client.get(f"/console/inspectors/{inspector.id}/tasks").get_data(as_text=True)
    assert going.plan.code in html and done.plan.code not in html
    page = client.get(f"/console/inspectors/{inspector.id}/tasks?finished=1&year={year}")
    html = page.get_data(as_text=True)
    assert done.plan.code in html and going.plan.code not in html
    assert (
        client.get(f"/console/inspectors/{inspector.id}/tasks?finished=1&year=1").status_code == 422
    )


# -- the audit trail ---------------------------------------------------------------------------


def test_audit_entries_page_newest_first(app, session, world, monkeypatch):
    for _ in range(5):
        factories.PlanFactory(actor=world["admin_a"])
    session.commit()
    seqs = list(
        session.scalars(
            select(AuditEntry.seq)
            .where(AuditEntry.action == "plans.create")
            .order_by(AuditEntry.seq.desc())
        )
    )
    assert len(seqs) == 5
    client = _client(app, "audit")
    url = "/api/v1/audit/entries?action=plans.create"
    check_paging(client, url, seqs, limit=2, id_of=lambda e: e["seq"])
    check_paging(client, "/api/v1/audit/entries?action=nothing.done", [], id_of=lambda e: e["seq"])
    past = pages.encode_cursor(audit.NEWEST_ENTRIES, [min(seqs)])
    assert client.get(f"{url}&cursor={past}").get_json()["items"] == []
    check_bad_cursors(client, url, past)
    # The console's 审计日志 pages the same way and never counts the trail.
    monkeypatch.setattr(console, "AUDIT_PER_PAGE", 2)
    url, seen = "/console/audit?action=plans.create", []
    while url:
        html = client.get(url).get_data(as_text=True)
        assert "共 " not in html  # no count of the trail
        seen += [int(s) for s in re.findall(r'<tr id="audit-(\d+)">', html)]
        found = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == seqs


# -- one draw's teams --------------------------------------------------------------------------


def test_a_draws_teams_page_by_position(app, session, world, registry):
    draw = factories.DrawFactory(actor=world["admin_a"])
    session.commit()
    drawn = draws.count_drawn(session, draw)
    assert drawn >= 5
    client = _client(app, "admin_a")
    url = f"/api/v1/draws/{draw.id}/teams"

    def position(item):
        return item["position"]

    responses = check_paging(client, url, list(range(drawn)), limit=2, id_of=position)
    assert all(r.get_json()["total"] == drawn for r in responses)
    check_paging(client, url, list(range(drawn)), limit=drawn, id_of=position)
    past = pages.encode_cursor(draws.TEAM_ORDER, [drawn - 1])
    body = client.get(f"{url}?cursor={past}").get_json()
    assert (body["items"], body["next"], body["total"]) == ([], None, drawn)
    check_bad_cursors(client, url, past)
    # The service finds the k-th row by its position, not by an OFFSET: the same rows.
    assert [r.drawn.position for r in draws.teams(session, draw, offset=3, limit=2)] == [3, 4]
