"""Keyset paging of the registry lists (检查对象, 执法人员, 抽查事项, 回避声明), over the API and
in the console: first, middle and last page, an empty list, a cursor past the end, a bad
cursor, the filters kept from page to page, and a count only on the first page, capped."""

from __future__ import annotations

import re

import pytest

from shuangsuiji.services import pages
from shuangsuiji.services.registry import records
from shuangsuiji.web import registry as registry_views

from .. import factories
from .test_cursor_paging import _client, check_bad_cursors, check_paging


@pytest.fixture
def lists(session, world):
    """Department A: five entities (two named 恒达), three inspectors, three matters, two
    conflict declarations; department B: one of each, never in A's lists."""
    a, b = world["a"], world["b"]
    names = ["恒达商贸", "顺达物流", "恒达食品", "华北建材", "永安药房"]
    entities = [factories.EntityFactory(department=a, name=f"廊坊{n}有限公司") for n in names]
    inspectors = [factories.InspectorFactory(department=a) for _ in range(3)]
    matters = [factories.MatterFactory(department=a, code=c) for c in ("M-3", "M-1", "M-2")]
    conflicts = [
        factories.ConflictDeclarationFactory(inspector=inspectors[0], entity=entities[0]),
        factories.ConflictDeclarationFactory(inspector=inspectors[1], entity=entities[1]),
    ]
    other_entity = factories.EntityFactory(department=b, name="廊坊恒达其他有限公司")
    other_inspector = factories.InspectorFactory(department=b)
    factories.MatterFactory(department=b, code="M-0")
    factories.ConflictDeclarationFactory(inspector=other_inspector, entity=other_entity)
    session.commit()
    return {
        "entities": entities,
        "inspectors": inspectors,
        "matters": matters,
        "conflicts": conflicts,
    }


def _ids(objects):
    return [o.id for o in objects]


def _past_end(kind, last):
    order = records.ORDERS[kind]
    return pages.encode_cursor(order, [getattr(last, column.key) for column, _d in order])


def test_entities_page_with_their_filters(app, world, lists):
    client = _client(app, "admin_a")
    entities = lists["entities"]
    check_paging(client, "/api/v1/entities", _ids(entities), limit=2)  # 2 + 2 + 1
    check_paging(client, "/api/v1/entities", _ids(entities), limit=5)
    hengda = [entities[0].id, entities[2].id]
    responses = check_paging(client, "/api/v1/entities?q=恒达", hengda, limit=1)
    assert "q=" in responses[0].get_json()["next"]  # the filter travels with the cursor
    check_paging(client, "/api/v1/entities?region_code=131028", [])
    check_paging(client, "/api/v1/entities?q=恒达&risk_class=A", [])
    past = _past_end("entities", entities[-1])
    assert client.get(f"/api/v1/entities?cursor={past}").get_json() == {
        "items": [],
        "next": None,
        "limit": 50,
    }
    check_bad_cursors(client, "/api/v1/entities", past)
    root = _client(app, "root")  # every department's
    assert len(check_paging(root, "/api/v1/entities", _ids(entities) + [entities[-1].id + 1])) == 3


def test_inspectors_matters_and_conflicts_page(app, world, lists):
    client = _client(app, "admin_a")
    inspectors = lists["inspectors"]
    check_paging(client, "/api/v1/inspectors", _ids(inspectors), limit=1)  # three pages
    one = inspectors[1]
    check_paging(client, f"/api/v1/inspectors?q={one.cert_no}", [one.id])
    check_paging(client, "/api/v1/inspectors?status=left", [])
    past = _past_end("inspectors", inspectors[-1])
    check_bad_cursors(client, "/api/v1/inspectors", past)

    by_code = sorted(lists["matters"], key=lambda m: m.code)
    check_paging(client, "/api/v1/matters", _ids(by_code), limit=1)
    check_paging(client, "/api/v1/matters?category=重点", [])
    past = _past_end("matters", by_code[-1])
    assert client.get(f"/api/v1/matters?cursor={past}").get_json()["items"] == []
    check_bad_cursors(client, "/api/v1/matters", past)
    root = _client(app, "root")  # by department, then code: A's three, then B's
    every = root.get("/api/v1/matters?limit=200").get_json()["items"]
    assert [m["code"] for m in every] == ["M-1", "M-2", "M-3", "M-0"]

    conflicts = lists["conflicts"]
    check_paging(client, "/api/v1/conflicts", _ids(conflicts), limit=1)
    check_paging(client, f"/api/v1/conflicts?inspector_id={inspectors[1].id}", [conflicts[1].id])
    check_paging(client, f"/api/v1/conflicts?entity_id={lists['entities'][4].id}", [])
    check_bad_cursors(client, "/api/v1/conflicts", _past_end("conflicts", conflicts[-1]))


# -- the console -------------------------------------------------------------------------------


def _next(html):
    found = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _walk(client, url, pattern):
    seen, texts = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        texts.append(html)
        seen += re.findall(pattern, html)
        url = _next(html)
    return seen, texts


def _count(html):
    found = re.search(r'<p class="muted" id="list-count">([^<]*)</p>', html)
    return found.group(1) if found else None


ENTITY_LINK = r'href="/console/entities/(\d+)">查看'


def test_console_entities_page_and_count_only_the_first(app, world, lists, monkeypatch):
    monkeypatch.setattr(registry_views, "PER_PAGE", 2)
    client = _client(app, "admin_a")
    seen, texts = _walk(client, "/console/entities", ENTITY_LINK)
    assert [int(i) for i in seen] == _ids(lists["entities"]) and len(texts) == 3
    assert _count(texts[0]) == "共 5 条，每页 2 条"
    assert _count(texts[1]) == _count(texts[2]) == "接上页，每页 2 条"  # no count deeper down
    assert "回到第一页" in texts[1] and "已到最后一页" in texts[2]
    seen, texts = _walk(client, "/console/entities?q=恒达&status=", ENTITY_LINK)
    assert [int(i) for i in seen] == [lists["entities"][0].id, lists["entities"][2].id]
    assert len(texts) == 1 and _count(texts[0]) == "共 2 条"
    monkeypatch.setattr(registry_views, "PER_PAGE", 1)
    first = client.get("/console/entities?q=恒达").get_data(as_text=True)
    assert "q=%E6%81%92%E8%BE%BE" in _next(first)  # the search travels to the next page
    monkeypatch.setattr(registry_views, "COUNT_CAP", 3)  # counting stops at the cap
    assert _count(client.get("/console/entities").get_data(as_text=True)).startswith("共 3 条以上")
    empty = client.get("/console/entities?region_code=131028").get_data(as_text=True)
    assert _count(empty) == "共 0 条" and "没有符合条件的记录" in empty
    response = client.get("/console/entities?cursor=nonsense")
    assert response.status_code == 422 and "分页游标无效" in response.get_data(as_text=True)
    past = _past_end("entities", lists["entities"][-1])
    html = client.get(f"/console/entities?cursor={past}").get_data(as_text=True)
    assert "没有符合条件的记录" in html and "已到最后一页" in html


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [
        ("inspectors", r'href="/console/inspectors/(\d+)">查看'),
        ("matters", r'href="/console/matters/(\d+)">查看'),
        ("conflicts", r"<td>近亲属在该企业任职</td>"),
    ],
)
def test_console_lists_page(app, world, lists, monkeypatch, kind, pattern):
    monkeypatch.setattr(registry_views, "PER_PAGE", 1)
    client = _client(app, "admin_a")
    seen, texts = _walk(client, f"/console/{kind}", pattern)
    expected = lists[kind] if kind != "matters" else sorted(lists[kind], key=lambda m: m.code)
    assert len(seen) == len(texts) == len(expected)
    if kind != "conflicts":
        assert [int(i) for i in seen] == _ids(expected)
    other = "entities" if kind == "matters" else "matters"  # a cursor of another ordering
    response = client.get(f"/console/{kind}?cursor={_past_end(other, lists[other][0])}")
    assert response.status_code == 422 and "分页游标无效" in response.get_data(as_text=True)
