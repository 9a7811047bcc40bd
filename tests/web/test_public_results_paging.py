"""检查结果查询 (page and API) pages by USCC after a cursor: every firm with a published result
is found however many match (it stopped after ten pages), the query kept from page to page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from shuangsuiji.db import DrawEntity, InspectionRecord
from shuangsuiji.db.states import RecordStatus
from shuangsuiji.services import pages
from shuangsuiji.services.results import public_results

from .. import factories
from ..api.test_cursor_paging import check_paging


@pytest.fixture
def published(session, world, registry):
    """Every firm of a draw has a published record but the last, whose record is a draft."""
    draw = factories.DrawFactory(actor=world["admin_a"])
    drawn = list(
        session.scalars(
            select(DrawEntity).where(DrawEntity.draw_id == draw.id).order_by(DrawEntity.position)
        )
    )
    assert len(drawn) >= 5
    day = dt.date(2026, 3, 2)
    for n, row in enumerate(drawn):
        last = n == len(drawn) - 1
        session.add(
            InspectionRecord(
                draw_id=draw.id,
                position=row.position,
                plan_id=draw.plan_id,
                department_id=world["a"].id,
                entity_id=row.entity_id,
                uscc=row.uscc,
                status=RecordStatus.DRAFT if last else RecordStatus.PUBLISHED,
                checked_on=day,
                published_at=None if last else dt.datetime(2026, 3, 3, tzinfo=dt.UTC),
            )
        )
    session.commit()
    return sorted(r.uscc for r in drawn[:-1])


def _uscc(item):
    return item["uscc"]


def test_the_api_pages_to_the_last_firm(app, published):
    client = app.test_client()  # anonymous
    url = "/api/v1/public/results?q=测试企业"
    responses = check_paging(client, url, published, limit=2, id_of=_uscc)
    assert len(responses) >= 3  # first, middle, last
    body = responses[0].get_json()
    assert body["mode"] == "name" and "q=" in body["next"]  # the query travels with the cursor
    check_paging(client, url, published, limit=len(published), id_of=_uscc)
    check_paging(client, "/api/v1/public/results?q=没有这家企业", [], id_of=_uscc)
    past = pages.encode_cursor(public_results.BY_USCC, [published[-1]])
    assert client.get(f"{url}&cursor={past}").get_json() == {
        "items": [],
        "next": None,
        "limit": 50,
        "mode": "name",
    }
    numeric = pages.encode_cursor(public_results.BY_USCC, [1])  # a forged value: not a USCC
    for bad in ("nonsense!", "eyJrIjpbImlkIl19", numeric):
        response = client.get(f"{url}&cursor={bad}")
        assert response.status_code == 422 and "cursor" in response.get_json()["errors"], bad
    assert client.get(f"{url}&cursor={'x' * 1001}").status_code == 422
    assert client.get(f"{url}&limit=201").status_code == 422
    one = client.get("/api/v1/public/results", query_string={"q": published[0]}).get_json()
    assert [h["uscc"] for h in one["items"]] == [published[0]] and one["next"] is None


def _next(html):
    found = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_page_reaches_every_firm(app, published, monkeypatch):
    monkeypatch.setattr(public_results, "PER_PAGE", 2)
    client = app.test_client()
    url, seen, texts = "/public/results?q=测试企业", [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        texts.append(html)
        seen += re.findall(r"<td><code>(\w{18})</code></td>", html)
        url = _next(html)
    assert seen == published and len(texts) == -(-len(published) // 2)
    assert "回到第一页" in texts[1] and "已到最后一页" in texts[-1]
    assert "最多显示" not in "".join(texts)
    past = pages.encode_cursor(public_results.BY_USCC, [published[-1]])
    html = client.get(f"/public/results?q=测试企业&cursor={past}").get_data(as_text=True)
    assert "后面没有更多企业了" in html and "回到第一页" in html
    response = client.get("/public/results?q=测试企业&cursor=nonsense")
    assert response.status_code == 422 and "分页游标无效" in response.get_data(as_text=True)
    html = client.get("/public/results", query_string={"q": published[0]}).get_data(as_text=True)
    assert published[0] in html and "已到最后一页" not in html  # one firm: no pager
