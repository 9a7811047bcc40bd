"""The monthly credit-risk classification import: it updates existing entities' class and
month, and rejects every other row with its reason."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shuangsuiji.db import AuditEntry, Entity
from shuangsuiji.services.registry import exports, imports
from shuangsuiji.worker import Worker

from ... import factories
from .test_imports import code, rejects_of, run  # noqa: F401 (the fixture)

HEADER = "统一社会信用代码,信用风险分类,分类月份\n"


@pytest.fixture
def registered(session, world):
    rows = [
        factories.EntityFactory(department=world["a"], uscc=code(i), risk_class="B")
        for i in range(3)
    ]
    rows[2].risk_class_month = "2030-05"
    factories.EntityFactory(department=world["b"], uscc=code(9))
    session.commit()
    return rows


def test_known_entities_get_their_class_and_month(run, session, registered):  # noqa: F811
    content = HEADER + f"{code(0)},D,2030-06\n{code(1)},低风险,2030年6月\n{code(2)},C类,2030-06\n"
    job = run(content.encode(), kind="risk_classes")
    assert job.status == "done", job.error
    assert (job.rows_read, job.inserted, job.updated, job.unchanged, job.rejected) == (
        3,
        0,
        3,
        0,
        0,
    )
    session.expire_all()
    assert [(e.risk_class, e.risk_class_month) for e in registered] == [
        ("D", "2030-06"),
        ("A", "2030-06"),
        ("C", "2030-06"),
    ]
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "import.apply"))
    assert '"kind":"risk_classes"' in entry.after


def test_every_bad_row_is_rejected_with_its_reason(run, session, registered, world):  # noqa: F811
    content = (
        HEADER
        + f"{code(0)},E,2030-06\n"  # bad class
        + f"{code(1)},A,2030-13\n"  # bad month
        + f"{code(7)},A,2030-06\n"  # not on the registry
        + f"{code(9)},A,2030-06\n"  # another department's entity
        + f"{code(2)},A,2030-04\n"  # older than the stored month
        + "91131024XXXXXXXXXX,A,2030-06\n"  # not a USCC
        + f"{code(1)},A,\n"  # month missing
        + f"{code(0)},A,2030-06\n"  # the one good row
    )
    job = run(content.encode(), kind="risk_classes")
    assert job.status == "done"
    assert (job.rows_read, job.updated, job.rejected, job.inserted) == (8, 1, 7, 0)
    reasons = rejects_of(session, job)
    assert [row for row, _, _ in reasons] == [2, 3, 4, 5, 6, 7, 8]
    assert "信用风险分类无效" in reasons[0][2]
    assert "月份格式无法识别" in reasons[1][2]
    assert reasons[2][2] == reasons[3][2] == "本部门检查对象名录中没有该主体"
    assert "早于名录中已有的分类月份 2030-05" in reasons[4][2]
    assert reasons[6] == (8, "分类月份", "不能为空")
    session.expire_all()
    assert registered[0].risk_class == "A" and registered[1].risk_class == "B"
    total = select(func.count()).select_from(Entity)
    assert session.scalar(total) == 4  # nothing inserted


def test_an_entity_whose_uscc_changed_before_applying_fails_the_whole_import(
    run,  # noqa: F811
    session,
    registered,
    world,
    db,
    app,
):
    content = HEADER + f"{code(0)},D,2030-06\n{code(1)},D,2030-06\n"
    job = run(content.encode(), kind="risk_classes", apply=False)
    assert job.status == "ready"
    registered[0].uscc = code(5)
    session.commit()
    imports.confirm(session, actor=world["admin_a"], import_id=job.id)
    session.commit()
    Worker(db, app.config).run_one(job.task_id)
    session.expire_all()
    assert job.status == "failed" and "1 行" in job.error
    assert [e.risk_class for e in registered] == ["B", "B", "B"]


def test_the_risk_class_import_is_not_an_exportable_list(session, world):
    with pytest.raises(Exception, match="导出的名录或格式无效"):
        exports.enqueue(session, actor=world["admin_a"], kind="risk_classes", filters={}, fmt="csv")
