"""Searching the registries, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shuangsuiji.domain import uscc
from shuangsuiji.services.registry.records import EntityFilters, search_entities

from ... import factories

NAMES = (
    "香河县恒达商贸有限公司",
    "廊坊市恒通科技有限公司",
    "大厂回族自治县达恒餐饮店",
    "三河市恒达恒达建材有限公司",
    "固安县100%_纯净水经营部",
    "恒",
)


@pytest.fixture
def entities(session, world):
    return [
        factories.EntityFactory(
            department=world["a"], uscc=uscc.make(f"91131024{n:09d}"), name=name
        )
        for n, name in enumerate(NAMES, 1)
    ]


@pytest.mark.parametrize(
    "term",
    [
        "恒达",
        "恒",
        "达恒",
        "恒达商贸",
        "有限公司",
        "恒达恒达",
        "0%_",
        "%",
        "_纯",
        "不存在",
        " 恒通 ",
    ],
)
def test_name_search_finds_every_name_containing_the_term(session, world, entities, term):
    query = search_entities(world["admin_a"], EntityFilters(q=term))
    found = [e.name for e in session.scalars(query)]
    assert found == [name for name in NAMES if term.strip() in name]


def test_two_character_search_uses_the_bigram_index_on_postgresql(session, world, entities):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the bigram index exists on PostgreSQL only")
    # On a table this small the planner would rather scan: leave it only bitmap index scans,
    # and no department filter (the system administrator reads all) for another index to serve.
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_indexscan = off"))
    query = search_entities(world["sysadmin"], EntityFilters(q="恒达"))
    compiled = query.compile(session.get_bind())
    explained = session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
    plan = "\n".join(explained.scalars())
    assert "ix_entities_name_bigrams" in plan, plan
    assert "Seq Scan" not in plan, plan
