"""Keyset paging of the remaining lists: users, API tokens, import batches (API and pages) and
the public matter list: first, middle and last page, an empty one, a
cursor past the end, a bad cursor, the filters kept across pages."""

from __future__ import annotations

import re

from shuangsuiji.db import ImportJob, ImportReject, PlanParticipation
from shuangsuiji.db.states import ImportStatus
from shuangsuiji.services import pages
from shuangsuiji.services.accounts import tokens, users
from shuangsuiji.services.plans import participation
from shuangsuiji.services.registry.imports import jobs
from shuangsuiji.web import console
from shuangsuiji.web import plans as plan_views
from shuangsuiji.web import public as public_views
from shuangsuiji.web import registry as registry_views

from .. import factories
from .test_cursor_paging import _client, check_bad_cursors, check_paging


def _next(html):
    found = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _walk(client, url, pattern):
    """Every page of a console or public list by its 下一页 links: what `pattern` finds, and
    the pages."""
    seen, texts = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        texts.append(html)
        seen += re.findall(pattern, html)
        url = _next(html)
    return seen, texts


def _bad_page_cursor(client, url):
    sep = "&" if "?" in url else "?"
    response = client.get(f"{url}{sep}cursor=nonsense")
    assert response.status_code == 422 and "分页游标无效" in response.get_data(as_text=True)


# -- users -------------------------------------------------------------------------------------


def test_users_page_by_username(app, session, world, monkeypatch):
    for n in range(3):
        factories.UserFactory(username=f"zz_a{n}", department=world["a"])
    session.commit()
    by_name = sorted(["admin_a", "insp_a", "zz_a0", "zz_a1", "zz_a2"])
    ids = {u.username: u.id for u in users.list_visible(session, world["sysadmin"])}
    client = _client(app, "admin_a")  # their own department's
    check_paging(client, "/api/v1/users", [ids[n] for n in by_name], limit=2)
    root = _client(app, "root")
    every = sorted(ids)
    check_paging(root, "/api/v1/users", [ids[n] for n in every], limit=3)
    b = world["b"].id
    responses = check_paging(
        root, f"/api/v1/users?department_id={b}", [ids["admin_b"], ids["insp_b"]], limit=1
    )
    assert f"department_id={b}" in responses[0].get_json()["next"]
    check_paging(root, "/api/v1/users?department_id=999999", [])
    past = pages.encode_cursor(users.BY_USERNAME, ["zzzz"])
    assert client.get(f"/api/v1/users?cursor={past}").get_json()["items"] == []
    numeric = pages.encode_cursor(users.BY_USERNAME, [1])  # a forged value: not a username
    for bad in ("nonsense!", "eyJrIjpbImlkIl19", numeric):
        response = client.get(f"/api/v1/users?cursor={bad}")
        assert response.status_code == 422 and "cursor" in response.get_json()["errors"]
    assert client.get("/api/v1/users?limit=201").status_code == 422

    monkeypatch.setattr(console, "USERS_PER_PAGE", 2)
    seen, texts = _walk(client, "/console/users", r"<tr>\s*<td>([a-z_0-9]+)</td>")
    assert seen == by_name and len(texts) == 3
    assert "回到第一页" in texts[1] and "已到最后一页" in texts[-1]
    seen, _ = _walk(root, f"/console/users?department={b}", r"<tr>\s*<td>([a-z_0-9]+)</td>")
    assert seen == ["admin_b", "insp_b"]
    _bad_page_cursor(client, "/console/users")


# -- API tokens --------------------------------------------------------------------------------


def test_tokens_page_newest_first(app, session, world, monkeypatch):
    admin = world["admin_a"]
    client = _client(app, "admin_a")
    check_paging(client, "/api/v1/tokens", [])  # none yet: an empty list
    made = [
        tokens.issue(session, actor=admin, name=f"t{n}", scope="read", days=30, max_days=365)[0]
        for n in range(5)
    ]
    tokens.issue(session, actor=world["admin_b"], name="b", scope="read", days=30, max_days=365)
    session.commit()
    newest = [t.id for t in reversed(made)]
    check_paging(client, "/api/v1/tokens", newest, limit=2)
    past = pages.encode_cursor(tokens.NEWEST_TOKENS, [min(newest)])
    assert client.get(f"/api/v1/tokens?cursor={past}").get_json()["items"] == []
    check_bad_cursors(client, "/api/v1/tokens", past)

    monkeypatch.setattr(console, "TOKENS_PER_PAGE", 2)
    seen, texts = _walk(client, "/console/tokens", r"<tr>\s*<td>(t\d)</td>")
    assert seen == ["t4", "t3", "t2", "t1", "t0"] and len(texts) == 3
    _bad_page_cursor(client, "/console/tokens")


# -- import batches ----------------------------------------------------------------------------


def _job(department, kind, status, n):
    return ImportJob(
        department_id=department.id,
        kind=kind,
        filename=f"file-{n}.csv",
        sha256="0" * 64,
        size=10,
        stored_path=f"/nonexistent/{n}",
        status=status,
    )


def test_import_batches_page_with_their_filters(app, session, world, monkeypatch):
    client = _client(app, "admin_a")
    check_paging(client, "/api/v1/imports", [])
    rows = [
        _job(world["a"], "entities" if n % 2 else "inspectors", ImportStatus.DONE, n)
        for n in range(60)  # beyond the 50 the list used to stop at
    ]
    rows.append(_job(world["a"], "entities", ImportStatus.FAILED, 60))
    rows.append(_job(world["b"], "entities", ImportStatus.DONE, 61))
    session.add_all(rows)
    session.commit()
    own = [r.id for r in reversed(rows) if r.department_id == world["a"].id]
    check_paging(client, "/api/v1/imports", own, limit=25)  # 25 + 25 + 11
    entities = [r.id for r in reversed(rows[:61]) if r.kind == "entities"]
    responses = check_paging(client, "/api/v1/imports?kind=entities", entities, limit=20)
    assert "kind=entities" in responses[0].get_json()["next"]
    check_paging(client, "/api/v1/imports?status=failed", [rows[60].id])
    check_paging(client, "/api/v1/imports?status=cancelled", [])
    assert client.get("/api/v1/imports?status=nonsense").status_code == 422
    past = pages.encode_cursor(jobs.NEWEST_IMPORTS, [min(own)])
    assert client.get(f"/api/v1/imports?cursor={past}").get_json()["items"] == []
    check_bad_cursors(client, "/api/v1/imports", past)

    monkeypatch.setattr(registry_views, "IMPORTS_PER_PAGE", 25)
    link = r'href="/console/imports/(\d+)">#'
    seen, texts = _walk(client, "/console/imports", link)
    assert [int(i) for i in seen] == own and len(texts) == 3
    seen, _ = _walk(client, "/console/imports?list_kind=entities&status=done", link)
    assert [int(i) for i in seen] == entities[1:]  # the failed one is not done
    html = client.get("/console/imports?status=cancelled").get_data(as_text=True)
    assert "没有符合条件的导入批次" in html
    _bad_page_cursor(client, "/console/imports")


# -- the public matter list --------------------------------------------------------------------


def test_public_matters_page_with_the_search_kept(app, session, world, monkeypatch):
    for n in range(5):
        name = "食品安全检查" if n % 2 else "企业公示信息检查"
        factories.MatterFactory(department=world["a"], code=f"M-{n}", name=name)
    factories.MatterFactory(department=world["b"], code="M-9", name="食品安全检查")
    session.commit()
    monkeypatch.setattr(public_views, "MATTERS_PER_PAGE", 2)
    client = app.test_client()
    code = r'<td data-label="事项编码">([^<]+)</td>'
    seen, texts = _walk(client, "/matters", code)
    assert seen == ["M-0", "M-1", "M-2", "M-3", "M-4", "M-9"] and len(texts) == 3
    assert "共 6 项" in texts[0] and "共 6 项" not in texts[1]  # the count: first page only
    seen, texts = _walk(client, "/matters?q=食品", code)
    assert seen == ["M-1", "M-3", "M-9"] and len(texts) == 2  # the search kept
    seen, _ = _walk(client, f"/matters?q=食品&department={world['b'].id}", code)
    assert seen == ["M-9"]
    html = client.get("/matters?q=没有").get_data(as_text=True)
    assert "暂无公开的抽查事项" in html and "共 0 项" in html
    _bad_page_cursor(client, "/matters")


# -- an import's rejected rows and the joint-plan requests ----------------------------------------


def test_rejected_rows_page_by_row_number(app, session, world):
    job = _job(world["a"], "entities", ImportStatus.READY, 1)
    session.add(job)
    session.flush()
    rows = [
        ImportReject(import_id=job.id, row_no=row_no, column=f"列{n}", value="x", reason="不能为空")
        for n, row_no in enumerate((7, 3, 3, 12, 5))  # two problems on row 3
    ]
    session.add_all(rows)
    session.commit()
    client = _client(app, "admin_a")
    url = f"/api/v1/imports/{job.id}/rejects"
    in_order = sorted(rows, key=lambda r: (r.row_no, r.id))
    expected = [(r.row_no, r.column) for r in in_order]
    check_paging(client, url, expected, limit=2, id_of=lambda i: (i["row_no"], i["column"]))
    past = pages.encode_cursor(jobs.REJECT_ORDER, [12, in_order[-1].id])
    assert client.get(f"{url}?cursor={past}").get_json()["items"] == []
    check_bad_cursors(client, url, past)
    csv_file = client.get(f"{url}?format=csv&limit=1")  # the file holds every row, unpaged
    assert csv_file.data.decode("utf-8-sig").count("不能为空") == 5
    empty = _job(world["a"], "entities", ImportStatus.READY, 2)
    session.add(empty)
    session.commit()
    check_paging(client, f"/api/v1/imports/{empty.id}/rejects", [])


def test_joint_plan_requests_page_newest_first(app, session, world, monkeypatch):
    client = _client(app, "admin_b")
    check_paging(client, "/api/v1/participations", [])
    made = []
    for _ in range(5):
        plan = factories.PlanFactory(actor=world["admin_a"])
        made.append(PlanParticipation(plan_id=plan.id, department_id=world["b"].id))
    session.add_all(made)
    session.commit()
    newest = [r.plan_id for r in reversed(made)]  # one request a plan

    def plan_of(item):
        return item["plan_id"]

    check_paging(client, "/api/v1/participations", newest, limit=2, id_of=plan_of)
    check_paging(client, "/api/v1/participations?status=pending", newest, limit=3, id_of=plan_of)
    check_paging(client, "/api/v1/participations?status=declined", [])
    check_paging(_client(app, "admin_a"), "/api/v1/participations", [])  # not addressed to A
    past = pages.encode_cursor(participation.NEWEST_REQUESTS, [min(r.id for r in made)])
    check_bad_cursors(client, "/api/v1/participations", past)
    # The console's 联合抽查邀请 pages the same way, the status filter kept.
    monkeypatch.setattr(plan_views, "PLANS_PER_PAGE", 2)
    link = r'href="/console/plans/(\d+)">'
    seen, texts = _walk(client, "/console/participations?status=pending", link)
    assert [int(i) for i in seen] == newest and len(texts) == 3
    assert "status=pending" in _next(texts[0]) and "已到最后一页" in texts[-1]
    _bad_page_cursor(client, "/console/participations")
