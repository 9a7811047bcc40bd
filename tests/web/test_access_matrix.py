"""Walk the URL map: every route against no user, a user of another department, the right user."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from shuangsuiji.access import rule_for
from shuangsuiji.domain import uscc
from shuangsuiji.services.accounts import tokens
from shuangsuiji.services.plans import draws
from shuangsuiji.services.platform import outbox, workdays
from shuangsuiji.services.registry import checklists, exports, imports
from shuangsuiji.services.registry import records as registry
from shuangsuiji.services.results import credit, results
from shuangsuiji.worker import Worker

from .. import draw_world, factories
from ..conftest import csrf_token, login

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def objects(world, session, app, db):
    """Objects of department A that the URL parameters point at."""
    admin = world["admin_a"]
    tokens.issue(session, actor=admin, name="a", scope="write", days=30, max_days=365)
    token = tokens.page_own(session, admin).items[0]
    entity = registry.create(
        session,
        actor=admin,
        kind="entities",
        department_id=world["a"].id,
        raw={"uscc": uscc.make("91131024000000001"), "name": "甲"},
    )
    inspector = registry.create(
        session,
        actor=admin,
        kind="inspectors",
        department_id=world["a"].id,
        raw={"name": "张三", "cert_no": "13001"},
    )
    matter = registry.create(
        session,
        actor=admin,
        kind="matters",
        department_id=world["a"].id,
        raw={"code": "M-1", "name": "事项"},
    )
    checklists.create_version(
        session,
        actor=admin,
        matter_id=matter.id,
        items=[{"content": "年报", "method": "online", "basis": "第八条", "codes": ["B"]}],
    )
    job = imports.create(
        session,
        actor=admin,
        department_id=world["a"].id,
        kind="entities",
        filename="a.csv",
        source=io.BytesIO("企业名称\n甲\n".encode()),
        config=app.config,
    )
    task = exports.enqueue(session, actor=admin, kind="entities", filters={}, fmt="csv")
    draw_world.populate(session, world["a"], cert_prefix="77")
    draw = factories.DrawFactory(
        actor=admin, commitment__plan__code="PLAN-001", commitment__plan__matters=[matter]
    )
    plan = draw.plan
    attachment = results.add_attachment(
        session,
        actor=admin,
        draw_id=draw.id,
        position=0,
        filename="现场.png",
        data=b"\x89PNG\r\n\x1a\n" + bytes(16),
        max_bytes=1024,
    )
    override = workdays.add_override(
        session, actor=world["sysadmin"], date=dt.date(2030, 10, 12), is_workday=True
    )
    credit.on_result_published(
        session,
        actor=admin,
        entity_id=entity.id,
        department_id=world["a"].id,
        inspection_ref="inspection:matrix",
        codes=["6"],
        checked_on=draw_world.TODAY,
        published_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )
    listing = credit.listings(session, admin, today=draw_world.TODAY)[0].listing
    message = outbox.enqueue(session, channel="email", recipient="a@example.cn", body="提醒")
    session.commit()
    worker = Worker(db, app.config)
    worker.run_one(job.task_id)
    worker.run_one(task.id)
    return {
        "department_id": world["a"].id,
        "user_id": world["insp_a"].id,
        "token_id": token.id,
        "task_id": task.id,
        "import_id": job.id,
        "entity_id": entity.id,
        "inspector_id": inspector.id,
        "matter_id": matter.id,
        "plan_id": plan.id,
        "draw_id": draw.id,
        "override_id": override.id,
        "attachment_id": attachment.id,
        "uscc": draws.teams(session, draw, offset=0, limit=1)[0].drawn.uscc,
        "listing_id": listing.id,
        "action": "dismiss",
        "document": "listing",
        "message_id": message.id,
        "position": 0,
        "entities": entity.id,
        "inspectors": inspector.id,
        "matters": matter.id,
        "version": 1,
        "kind": "entities",
        "fmt": "csv",
        "filename": "css/site.css",
    }


def _cases(app):
    for url_rule in app.url_map.iter_rules():
        view = app.view_functions[url_rule.endpoint]
        for method in sorted((url_rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield url_rule, method, rule_for(view, method)


def _url(url_rule, objects) -> str:
    def value(match) -> str:
        name = match.group(1)
        if name == "object_id":  # the console's detail pages: /console/<list>/<object_id>
            return str(objects[url_rule.rule.split("/")[2]])
        return str(objects[name])

    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", value, url_rule.rule)


def _request(client, method, url, *, csrf):
    kwargs = {}
    if method in UNSAFE:
        kwargs["headers"] = {"X-CSRFToken": csrf}
        kwargs["data"] = {"csrf_token": csrf}
    response = client.open(url, method=method, **kwargs)
    response.close()  # static files hold an open file until closed
    return response


def _right_user(rule, world):
    if rule.public:
        return None
    if not rule.roles or "dept_admin" in rule.roles:
        return world["admin_a"]
    return world["sysadmin"] if "sysadmin" in rule.roles else world["auditor"]


def test_every_route_against_three_callers(app, world, objects):
    checked = 0
    signed_in: dict[str, tuple] = {}

    def client_of(username):
        """A signed-in client per user, reused (argon2 makes each login slow on purpose)."""
        if username not in signed_in:
            client = app.test_client()
            login(client, username)
            signed_in[username] = (client, csrf_token(client, "/console/tokens"))
        return signed_in[username]

    for url_rule, method, rule in _cases(app):
        assert rule is not None, f"{method} {url_rule.rule} declares no access rule"
        url = _url(url_rule, objects)
        is_api = url.startswith("/api/")
        has_object = re.search(r"<[^>]*_id>", url_rule.rule) is not None

        # 1. Nobody signed in: public routes answer, the rest refuse.
        anonymous = app.test_client()
        response = _request(anonymous, method, url, csrf="")
        if not rule.public:
            expected = {401} if is_api else {302, 400}  # 400: CSRF refused before login
            assert response.status_code in expected, (method, url, response.status_code)
            if response.status_code == 302:
                assert "/console/login" in response.headers["Location"]
        else:
            assert response.status_code < 500, (method, url)

        right = _right_user(rule, world)
        if right is None:
            checked += 1
            continue

        # 2. A user of department B: never reaches A's objects.
        other, csrf = client_of("admin_b")
        response = _request(other, method, url, csrf=csrf)
        if has_object:
            assert response.status_code in (403, 404), (method, url, response.status_code)
        else:
            assert response.status_code < 500, (method, url, response.status_code)

        # 3. The right user is let through (the request may still be invalid: 4xx not 401/403).
        own, csrf = client_of(right.username)
        response = _request(own, method, url, csrf=csrf)
        assert response.status_code not in (401, 403, 404), (method, url, response.status_code)
        assert response.status_code < 500, (method, url, response.status_code)
        checked += 1
        if url_rule.endpoint == "console.logout":
            signed_in.clear()  # those sessions have just been ended
    assert checked > 30
