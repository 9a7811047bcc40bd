"""检查表: versions, validation, access, the append-only history."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from shuangsuiji.db import AuditEntry, ChecklistItem
from shuangsuiji.errors import Conflict, Forbidden, Invalid, NotFound
from shuangsuiji.services.registry import checklists

from ... import factories

ITEMS = [
    {
        "content": "年度报告按时报送",
        "method": "网络核查",
        "basis": "《企业信息公示暂行条例》第八条",
        "criterion": "每年1月1日至6月30日报送上一年度年度报告",
        "required": True,
        "codes": ["B"],
    },
    {
        "content": "登记住所可联系",
        "method": "on_site",
        "basis": "《企业信息公示暂行条例》第十七条",
        "required": "否",
        "codes": "6",
    },
]


@pytest.fixture
def matter(world):
    return factories.MatterFactory(department=world["a"])


def test_versions_supersede_and_keep_the_old(session, world, matter):
    admin = world["admin_a"]
    first = checklists.create_version(session, actor=admin, matter_id=matter.id, items=ITEMS)
    assert first.version == 1
    assert [i.method for i in first.items] == ["online", "on_site"]
    assert [i.required for i in first.items] == [True, False]
    assert [i.code_list for i in first.items] == [["B"], ["6"]]
    second = checklists.create_version(
        session, actor=admin, matter_id=matter.id, items=ITEMS[:1], note="删去住所项", based_on=1
    )
    assert second.version == 2
    assert checklists.current(session, matter.id).id == second.id
    kept = checklists.get_version(session, admin, matter.id, 1)
    assert [i.content for i in kept.items] == ["年度报告按时报送", "登记住所可联系"]
    page = checklists.versions(session, admin, matter.id, limit=1)
    assert [c.version for c in page.items] == [2]
    rest = checklists.versions(session, admin, matter.id, cursor=page.next, limit=1)
    assert [c.version for c in rest.items] == [1] and rest.next is None
    assert (
        checklists.current_of_matters(session, [matter.id])[matter.id].items[0].content
        == "年度报告按时报送"
    )
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "checklists.create").order_by(AuditEntry.seq)
    ).all()[-1]
    assert entry.object_id == str(second.id)
    assert [len(json.loads(entry.after)["items"]), json.loads(entry.before)] == [1, {"version": 1}]


def test_a_stale_edit_is_refused(session, world, matter):
    admin = world["admin_a"]
    checklists.create_version(session, actor=admin, matter_id=matter.id, items=ITEMS)
    checklists.create_version(session, actor=admin, matter_id=matter.id, items=ITEMS, based_on=1)
    with pytest.raises(Conflict, match="第 2 版"):
        checklists.create_version(
            session, actor=admin, matter_id=matter.id, items=ITEMS, based_on=1
        )


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ({"content": ""}, "content", "不能为空"),
        ({"method": "拍脑袋"}, "method", "检查方法应为"),
        ({"basis": " "}, "basis", "不能为空"),
        ({"codes": []}, "codes", "请选择不符合时对应的检查结果代码"),
        ({"codes": ["Z"]}, "codes", "未知的检查结果代码：Z"),
        ({"codes": ["1"]}, "codes", "不符合不能对应以下检查结果：1 未发现问题"),
        ({"codes": ["9"]}, "codes", "不符合不能对应"),
        ({"codes": ["2"]}, "codes", "须选择其下的具体情形"),
        ({"required": "也许"}, "required", "是否必查应填"),
        ({"content": "字" * 501}, "content", "不能超过 500 个字"),
    ],
)
def test_bad_items_are_named_in_chinese(session, world, matter, item, field, message):
    bad = [ITEMS[0], {**ITEMS[1], **item}]
    with pytest.raises(Invalid) as caught:
        checklists.create_version(session, actor=world["admin_a"], matter_id=matter.id, items=bad)
    assert caught.value.message == "检查表填写有误"
    assert any(message in m for m in caught.value.errors[f"entries.2.{field}"])


def test_empty_and_duplicate_items(session, world, matter):
    admin = world["admin_a"]
    with pytest.raises(Invalid, match="至少需要一个检查项"):
        checklists.create_version(session, actor=admin, matter_id=matter.id, items=[])
    with pytest.raises(Invalid) as caught:
        checklists.create_version(
            session, actor=admin, matter_id=matter.id, items=[ITEMS[0], ITEMS[0]]
        )
    assert caught.value.errors["entries.2.content"] == ["与第 1 项的检查内容重复"]


def test_every_problem_code_exists():
    from shuangsuiji.domain.result_codes import BY_CODE

    assert set(checklists.PROBLEM_CODES) <= set(BY_CODE)
    assert "1" not in checklists.PROBLEM_CODES and "B" in checklists.PROBLEM_CODES


def test_access(session, world, matter):
    with pytest.raises(NotFound):
        checklists.create_version(session, actor=world["admin_b"], matter_id=matter.id, items=ITEMS)
    with pytest.raises(NotFound):
        checklists.versions(session, world["insp_b"], matter.id)
    with pytest.raises(Forbidden):
        checklists.create_version(session, actor=world["insp_a"], matter_id=matter.id, items=ITEMS)
    with pytest.raises(Forbidden):
        checklists.create_version(session, actor=world["auditor"], matter_id=matter.id, items=ITEMS)
    made = checklists.create_version(
        session, actor=world["sysadmin"], matter_id=matter.id, items=ITEMS
    )
    assert checklists.versions(session, world["insp_a"], matter.id).items == [made]


def test_a_published_version_cannot_be_edited(session, world, matter):
    made = checklists.create_version(
        session, actor=world["admin_a"], matter_id=matter.id, items=ITEMS
    )
    item_id = made.items[0].id
    with pytest.raises(DatabaseError), session.begin_nested():
        session.execute(
            text("UPDATE checklist_items SET content = 'x' WHERE id = :id"), {"id": item_id}
        )
    assert session.get(ChecklistItem, item_id).content == "年度报告按时报送"


def test_the_demo_checklists_are_valid():
    """Every demo checklist passes the service's checks (methods, codes, lengths)."""
    from shuangsuiji.cli.demo_checklists import DEMO_CHECKLISTS

    for code, items in DEMO_CHECKLISTS.items():
        parsed = checklists.parse_items(items)
        assert len(parsed) == len(items), code
