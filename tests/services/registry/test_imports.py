"""Imports through the whole pipeline (upload → validate → apply), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import logging
import threading
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select

from shuangsuiji.columns import CellError
from shuangsuiji.db import ConflictDeclaration, Entity, ImportJob, Inspector
from shuangsuiji.domain import uscc
from shuangsuiji.errors import Conflict, Invalid
from shuangsuiji.services.registry import imports
from shuangsuiji.services.registry.imports import checking
from shuangsuiji.worker import Worker

HEADER = "统一社会信用代码,企业名称,行政区划代码,登记状态,信用风险分类\n"


def code(n: int, region: str = "131024") -> str:
    return uscc.make(f"91{region}{n:09d}")


@pytest.fixture
def run(db, app, session, world):
    """Upload bytes as admin_a, validate, and optionally apply; returns the job."""
    worker = Worker(db, app.config, name="test")

    def run(
        content: bytes,
        filename: str = "对象.csv",
        *,
        kind: str = "entities",
        apply: bool = True,
        encoding: str | None = None,
        actor: str = "admin_a",
    ):
        job = imports.create(
            session,
            actor=world[actor],
            department_id=world[actor].department_id,
            kind=kind,
            filename=filename,
            source=io.BytesIO(content),
            config=app.config,
            reading=imports.Reading(encoding=encoding),
        )
        session.commit()
        worker.run_one(job.task_id)
        session.expire_all()
        job = session.get(ImportJob, job.id)
        if apply and job.status == "ready":
            imports.confirm(session, actor=world[actor], import_id=job.id)
            session.commit()
            worker.run_one(job.task_id)
            session.expire_all()
            job = session.get(ImportJob, job.id)
        return job

    return run


def entity_count(session, department_id) -> int:
    return session.scalar(
        select(func.count()).select_from(Entity).where(Entity.department_id == department_id)
    )


def rejects_of(session, job):
    return [(r.row_no, r.column, r.reason) for r in imports.rejects(session, job)]


def test_clean_file_inserts_every_row(run, session, world):
    rows = "".join(f"{code(i)},香河县测试商贸有限公司{i},131024,存续,A\n" for i in range(5))
    job = run((HEADER + rows).encode())
    assert job.status == "done"
    assert (job.rows_read, job.inserted, job.updated, job.unchanged, job.rejected) == (
        5,
        5,
        0,
        0,
        0,
    )
    assert entity_count(session, world["a"].id) == 5


def test_reimport_counts_unchanged_and_updated(run, session, world):
    rows = [f"{code(i)},公司{i},131024,存续,A\n" for i in range(4)]
    run((HEADER + "".join(rows)).encode())
    rows[1] = f"{code(1)},公司1（已更名）,131024,存续,B\n"
    rows.append(f"{code(9)},新公司,131024,存续,C\n")
    job = run((HEADER + "".join(rows)).encode())
    assert (job.inserted, job.updated, job.unchanged, job.rejected) == (1, 1, 3, 0)
    renamed = session.scalar(select(Entity).where(Entity.uscc == code(1)))
    assert (renamed.name, renamed.risk_class) == ("公司1（已更名）", "B")


def test_counts_add_up_and_every_reject_is_named(run, session, world):
    good = code(1)
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    content = HEADER + "".join(
        [
            f"{good},甲公司,131024,存续,A\n",
            f"{bad_check},乙公司,131024,存续,A\n",  # wrong check character
            f"{code(2)},丙公司,999999,存续,A\n",  # unknown region
            f"{good},甲公司重复,131024,存续,A\n",  # duplicate in file
            f"{code(3)},,131024,存续,A\n",  # empty name
            f"{code(4)},丁公司,131024,营业中,A\n",  # unknown status
            f"{code(5)},戊公司,131024,存续,E\n",  # unknown class
            "\n",  # blank line
            f"{code(6).lower()},小写代码公司,131024,存续,A\n",  # lower case: accepted
        ]
    )
    job = run(content.encode())
    assert job.rows_read == 8 and job.blank_rows == 1
    assert job.inserted + job.updated + job.unchanged + job.rejected == job.rows_read
    assert (job.inserted, job.rejected) == (2, 6)
    found = {(row, column) for row, column, _ in rejects_of(session, job)}
    assert found == {
        (3, "统一社会信用代码"),
        (4, "行政区划代码"),
        (5, "统一社会信用代码"),
        (6, "企业名称"),
        (7, "登记状态"),
        (8, "信用风险分类"),
    }
    reasons = " ".join(reason for _, _, reason in rejects_of(session, job))
    assert "校验" in reasons and "与文件第 2 行重复" in reasons


def test_tabs_backslashes_and_newlines_in_cells_are_kept(run, session, world):
    name = "甲\\乙\t丙\n丁\\N"
    job = run((HEADER + f'{code(1)},"{name}",131024,存续,A\n').encode())
    assert job.inserted == 1
    assert session.scalar(select(Entity.name).where(Entity.uscc == code(1))) == name


def test_too_many_rows_fails_the_file_midway(run, app, session, world):
    app.config["IMPORT_MAX_ROWS"] = 7
    app.config["IMPORT_BATCH_ROWS"] = 3  # the limit is hit after some batches are staged
    rows = "".join(f"{code(i)},公司{i},131024,存续,A\n" for i in range(10))
    job = run((HEADER + rows).encode())
    assert job.status == "failed" and "7" in job.error
    assert entity_count(session, world["a"].id) == 0


def test_a_failed_write_while_checking_ahead_stops_the_checks(run, app, session, monkeypatch):
    app.config["IMPORT_BATCH_ROWS"] = 2
    original = checking.write_stage
    writes = []

    def failing(*args):
        writes.append(1)
        if len(writes) == 2:
            raise RuntimeError("disk full")
        return original(*args)

    monkeypatch.setattr(checking, "write_stage", failing)
    rows = "".join(f"{code(i)},公司{i},131024,存续,A\n" for i in range(20))
    job = run((HEADER + rows).encode(), apply=False)  # the worker logs the error
    # The batch says so (it does not stay 校验中), and nothing it staged is left.
    assert job.status == "failed" and "校验时出错" in job.error and len(writes) == 2
    assert not session.execute(imports.KINDS["entities"].stage.select()).first()
    assert not [t for t in threading.enumerate() if t.name == "import-check"]


def test_checks_run_ahead_of_the_writes_in_order():
    assert list(checking.ahead(iter(range(50)), lambda n: n * 2, depth=2)) == list(range(0, 100, 2))


def test_an_error_while_checking_ahead_reaches_the_writer():
    def items():
        yield 1
        raise Invalid("坏文件")

    with pytest.raises(Invalid, match="坏文件"):
        list(checking.ahead(items(), lambda n: n))


def test_a_writer_stopping_early_stops_the_checks():
    produced = []

    def items():
        for n in range(1000):
            produced.append(n)
            yield n

    ahead = checking.ahead(items(), lambda n: n, depth=2)
    assert next(ahead) == 0
    ahead.close()  # joins the thread
    assert len(produced) <= 5


def test_full_width_uscc_is_normalised(run, session, world):
    wide = code(7).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    job = run((HEADER + f"{wide},全角公司,131024,存续,A\n").encode())
    assert job.inserted == 1
    assert session.scalar(select(Entity.uscc).where(Entity.name == "全角公司")) == code(7)


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("gbk", b""), ("gb18030", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16", b"")],
)
def test_encodings(run, session, world, encoding, prefix):
    name = "𠀀字号公司" if encoding == "gb18030" else "短公司"
    content = prefix + (HEADER + f"{code(8)},{name},131024,存续,A\n").encode(encoding)
    job = run(content)
    assert job.status == "done", job.error
    assert session.scalar(select(Entity.name).where(Entity.uscc == code(8))) == name


def test_short_gbk_file_is_not_misread(run, session, world):
    job = run("统一社会信用代码,企业名称\n".encode("gbk") + f"{code(1)},某某\n".encode("gbk"))
    assert session.scalar(select(Entity.name).where(Entity.uscc == code(1))) == "某某"
    assert job.detected_encoding.lower().replace("-", "") in ("gb18030", "gbk")


def test_missing_required_column_fails_the_file(run, session, world):
    job = run("企业名称,行政区划代码\n某公司,131024\n".encode())
    assert job.status == "failed"
    assert "统一社会信用代码" in job.error
    assert entity_count(session, world["a"].id) == 0


def test_excel_renamed_csv_is_refused_clearly(run, session, world):
    job = run(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "对象.csv")
    assert job.status == "failed" and job.error


def test_html_saved_as_xls_is_refused_clearly(run, session, world):
    html = "<html><body><table><tr><td>统一社会信用代码</td></tr></table></body></html>"
    job = run(html.encode("utf-8"), "对象.xls")
    assert job.status == "failed" and job.error


def test_zip_bomb_is_refused(run, app, session, world):
    app.config["IMPORT_MAX_UNPACKED_BYTES"] = 5_000_000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 20_000_000)
    job = run(buffer.getvalue(), "对象.xlsx")
    assert job.status == "failed"
    assert entity_count(session, world["a"].id) == 0


def test_file_over_size_limit_is_a_clear_error(app, session, world):
    app.config["IMPORT_MAX_BYTES"] = 1000
    from shuangsuiji.errors import Invalid

    with pytest.raises(Invalid, match="大小上限"):
        imports.create(
            session,
            actor=world["admin_a"],
            department_id=world["a"].id,
            kind="entities",
            filename="大.csv",
            source=io.BytesIO(b"x" * 5000),
            config=app.config,
        )


def test_xlsx_with_merged_cells_and_formulas(run, session, world, tmp_path):
    import xlsxwriter

    path = tmp_path / "对象.xlsx"
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["统一社会信用代码", "企业名称", "行政区划代码"])
    sheet.write_row(1, 0, [code(1), '=HYPERLINK("http://evil","点我")', "131024"])
    sheet.write_row(2, 0, [code(2), "<script>alert(1)</script>公司", "131024"])
    sheet.merge_range(3, 1, 4, 1, "合并单元格公司")
    sheet.write(3, 0, code(3))
    sheet.write(4, 0, code(4))
    sheet.write(3, 2, "131024")
    sheet.write(4, 2, "131024")
    sheet.write_formula(5, 1, '="公式"&"公司"', None, "公式公司")
    sheet.write(5, 0, code(5))
    sheet.write(5, 2, 131024)
    book.close()
    job = run(path.read_bytes(), "对象.xlsx")
    assert job.status == "done", job.error
    names = dict(session.execute(select(Entity.uscc, Entity.name)).all())
    assert names[code(1)].startswith("=HYPERLINK")
    assert names[code(2)] == "<script>alert(1)</script>公司"
    assert names[code(3)] == "合并单元格公司"
    assert code(4) not in names  # the merged cell's other row has no name: rejected
    assert names[code(5)] == "公式公司"
    assert (5, "企业名称") in {(r, c) for r, c, _ in rejects_of(session, job)}


def test_failed_apply_leaves_registry_untouched(run, session, world, monkeypatch):
    run((HEADER + f"{code(1)},原名,131024,存续,A\n").encode())
    from shuangsuiji.services.platform import audit

    original = audit.record

    def explode(*args, **kwargs):
        if kwargs.get("action") == "import.apply":
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(audit, "record", explode)
    content = HEADER + f"{code(1)},改名,131024,存续,A\n{code(2)},新公司,131024,存续,A\n"
    job = run(content.encode())
    assert job.status == "failed"
    assert entity_count(session, world["a"].id) == 1
    assert session.scalar(select(Entity.name).where(Entity.uscc == code(1))) == "原名"


def _schema_of_entities(session) -> tuple:
    inspector = inspect(session.connection())
    return (
        sorted(i["name"] for i in inspector.get_indexes("entities")),
        sorted(c["name"] for c in inspector.get_unique_constraints("entities")),
        sorted(c["name"] for c in inspector.get_foreign_keys("entities")),
    )


@pytest.fixture
def bulk(app, session):
    """Imports of 2 rows or more rebuild the indexes (PostgreSQL only)."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("indexes are set aside on PostgreSQL only")
    app.config["IMPORT_REBUILD_MIN_ROWS"] = 2


def test_large_import_rebuilds_indexes_and_constraints(run, session, world, bulk, caplog):
    run((HEADER + f"{code(1)},原名,131024,存续,A\n").encode())
    before = _schema_of_entities(session)
    assert "ix_entities_name_bigrams" in before[0] and before[1] and before[2]
    rows = [f"{code(1)},改名,131024,存续,B\n"] + [
        f"{code(i)},新公司{i},131024,存续,A\n" for i in range(2, 6)
    ]
    with caplog.at_level(logging.INFO, logger="shuangsuiji"):
        job = run((HEADER + "".join(rows)).encode())
    assert "indexes and constraints rebuilt" in caplog.text
    assert (job.status, job.inserted, job.updated, job.unchanged) == ("done", 4, 1, 0)
    assert _schema_of_entities(session) == before
    assert session.scalar(select(Entity.name).where(Entity.uscc == code(1))) == "改名"
    assert entity_count(session, world["a"].id) == 5


def test_failed_large_import_keeps_indexes_and_registry(run, session, world, bulk, monkeypatch):
    run((HEADER + f"{code(1)},原名,131024,存续,A\n").encode())
    before = _schema_of_entities(session)
    from shuangsuiji.services.platform import audit

    original = audit.record

    def explode(*args, **kwargs):
        if kwargs.get("action") == "import.apply":
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(audit, "record", explode)
    rows = "".join(f"{code(i)},新公司{i},131024,存续,A\n" for i in range(2, 6))
    job = run((HEADER + rows).encode())
    assert job.status == "failed"
    assert _schema_of_entities(session) == before
    assert entity_count(session, world["a"].id) == 1


def test_lost_stage_fails_the_import_and_changes_nothing(run, session, world, db, app):
    # The stage is unlogged on PostgreSQL: a server crash empties it between the preview and
    # the confirmation. The import must then fail, not apply what is left.
    job = run((HEADER + f"{code(1)},某公司,131024,存续,A\n").encode(), apply=False)
    session.execute(imports.KINDS["entities"].stage.delete())
    imports.confirm(session, actor=world["admin_a"], import_id=job.id)
    session.commit()
    Worker(db, app.config, name="test").run_one(job.task_id)
    session.expire_all()
    job = session.get(ImportJob, job.id)
    assert job.status == "failed" and "请重新上传" in job.error
    assert entity_count(session, world["a"].id) == 0


def test_an_apply_handed_back_after_its_commit_does_nothing_again(run, session, world, db, app):
    from shuangsuiji.db import Task

    job = run((HEADER + f"{code(1)},某公司,131024,存续,A\n").encode())
    assert job.status == "done"
    session.get(Task, job.task_id).status = "queued"  # as if the worker died after the commit
    session.commit()
    Worker(db, app.config, name="test").run_one(job.task_id)
    session.expire_all()
    assert session.get(ImportJob, job.id).status == "done"
    assert session.get(Task, job.task_id).status == "done"
    assert entity_count(session, world["a"].id) == 1


def test_cancel_leaves_registry_untouched(run, session, world):
    job = run((HEADER + f"{code(1)},某公司,131024,存续,A\n").encode(), apply=False)
    assert job.status == "ready" and job.inserted == 1
    imports.cancel(session, actor=world["admin_a"], import_id=job.id)
    assert entity_count(session, world["a"].id) == 0


def test_import_is_audited_with_file_hash(run, session, world):
    from shuangsuiji.db import AuditEntry

    job = run((HEADER + f"{code(1)},某公司,131024,存续,A\n").encode())
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "import.apply"))
    assert job.sha256 in entry.after and '"inserted":1' in entry.after
    assert entry.actor_name == "admin_a"


def test_same_uscc_in_two_departments_stays_apart(run, session, world):
    run((HEADER + f"{code(1)},甲局的公司,131024,存续,A\n").encode(), actor="admin_a")
    run((HEADER + f"{code(1)},乙局的公司,131024,存续,A\n").encode(), actor="admin_b")
    assert entity_count(session, world["a"].id) == 1
    assert entity_count(session, world["b"].id) == 1


INSPECTOR_HEADER = "姓名,执法证号,行政区划代码,执法资质,状态,身份证号\n"


def test_inspectors_and_conflicts(run, session, world):
    run((HEADER + f"{code(1)},某公司,131024,存续,A\n").encode())
    job = run(
        (
            INSPECTOR_HEADER + "张三,13001,131024,食品安全、计量,在岗,\n"
            "李四,13002,131024,特种设备,休假,11010519491231002X\n"
            "王五,13003,131024,,在岗,110105194912310021\n"
        ).encode(),
        "人员.csv",
        kind="inspectors",
    )
    assert (job.inserted, job.rejected) == (2, 1)
    assert "身份证号" in rejects_of(session, job)[0][1]
    zhang = session.scalar(select(Inspector).where(Inspector.cert_no == "13001"))
    assert zhang.qualifications == "食品安全,计量" and zhang.status == "active"
    job = run(
        (
            "执法证号,统一社会信用代码,回避事由,申报日期\n"
            f"13001,{code(1)},近亲属任职,2026-05-01\n"
            f"99999,{code(1)},不存在的人,2026-05-01\n"
        ).encode(),
        "回避.csv",
        kind="conflicts",
    )
    assert (job.inserted, job.rejected) == (1, 1)
    conflict = session.scalar(select(ConflictDeclaration))
    assert conflict.inspector_id == zhang.id


def test_cert_number_of_another_department_is_rejected(run, session, world):
    run(
        (INSPECTOR_HEADER + "张三,13001,131024,,在岗,\n").encode(),
        "人员.csv",
        kind="inspectors",
        actor="admin_a",
    )
    job = run(
        (INSPECTOR_HEADER + "冒名,13001,131024,,在岗,\n").encode(),
        "人员.csv",
        kind="inspectors",
        actor="admin_b",
    )
    assert job.rejected == 1 and "其他部门" in rejects_of(session, job)[0][2]


def test_inspector_contacts_are_normalised_or_rejected_with_a_reason(run, session, world):
    content = (
        "姓名,执法证号,手机号码,电子邮箱\n"
        "张伟,JZ-0001,+86 139-1234-5678,zw@example.cn\n"
        "李娜,JZ-0002,1391234567,\n"  # 10 digits
        "王芳,JZ-0003,,wangfang.example.cn\n"  # no @
    )
    job = run(content.encode(), "人员.csv", kind="inspectors")
    assert (job.inserted, job.rejected) == (1, 2)
    saved = session.scalar(select(Inspector).where(Inspector.cert_no == "JZ-0001"))
    assert (saved.mobile, saved.email) == ("13912345678", "zw@example.cn")
    found = {(row, column) for row, column, _ in rejects_of(session, job)}
    assert found == {(3, "手机号码"), (4, "电子邮箱")}


# --- checking a column a batch at a time ---------------------------------------------------------


def _one_by_one(parse, cells):
    values, errors = [], {}
    for i, cell in enumerate(cells):
        try:
            values.append(parse(cell))
        except CellError as exc:
            values.append(None)
            errors[i] = str(exc)
    return values, errors


CELLS = {
    "uscc": [code(1), code(2), code(3).lower(), code(4)[:-1] + "I", "", code(5)[:17]],
    "name": ["甲公司", "乙公司", "", "丙\x07公司", "长" * 201, "=HYPERLINK(1)"],
    "registered_on": ["2008-10-25", "2008/10/25", "2008-02-30", "", "昨天"],
    "status": ["存续", "在业", "", "营业中"],
    "region_code": ["131024", "131025", "", "999999", "１３１０２４"],
    "address": ["育才路1号", "光明街2号", "", "路" * 301],
}


@pytest.mark.parametrize("name", sorted(CELLS))
@given(data=st.data())
def test_a_column_checked_in_batches_is_checked_as_cell_by_cell(name, data):
    from shuangsuiji.columns import ENTITY_FIELDS

    field = next(f for f in ENTITY_FIELDS if f.name == name)
    column = checking.CellColumn(field.parse)
    column.MEMO_LIMIT = 3  # also goes through the column-of-unique-values path
    for _ in range(3):
        cells = tuple(data.draw(st.lists(st.sampled_from(CELLS[name]), min_size=1, max_size=8)))
        assert column(cells) == _one_by_one(field.parse, cells)


# --- stuck batches: cancelled by an administrator, failed with their task ----------------------


def _staged(session) -> int:
    stage = imports.KINDS["entities"].stage
    return session.scalar(select(func.count()).select_from(stage))


def _upload(session, app, world, content: str) -> ImportJob:
    job = imports.create(
        session,
        actor=world["admin_a"],
        department_id=world["a"].id,
        kind="entities",
        filename="对象.csv",
        source=io.BytesIO(content.encode()),
        config=app.config,
    )
    session.commit()
    return job


def test_a_batch_stuck_while_being_checked_can_be_cancelled(session, app, db, world):
    from shuangsuiji.db import AuditEntry

    job = _upload(session, app, world, HEADER + f"{code(1)},某公司,131024,存续,A\n")
    assert job.status == "validating"  # its worker is gone, say
    imports.cancel(session, actor=world["admin_a"], import_id=job.id)
    session.commit()
    assert job.status == "cancelled" and "校验中" in job.error
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "import.cancel"))
    assert '"validating"' in entry.before and '"cancelled"' in entry.after
    # Its task, run late, checks nothing and leaves the batch cancelled.
    Worker(db, app.config, name="test").run_one(job.task_id)
    session.expire_all()
    assert session.get(ImportJob, job.id).status == "cancelled"
    assert _staged(session) == 0 and entity_count(session, world["a"].id) == 0


def test_a_batch_cancelled_while_its_file_is_checked_stops_the_check(
    session, app, db, world, monkeypatch
):
    from shuangsuiji.worker import imports as import_tasks

    app.config["IMPORT_BATCH_ROWS"] = 2
    monkeypatch.setattr(import_tasks, "CANCEL_LOOK_SECONDS", 0)
    rows = "".join(f"{code(i)},公司{i},131024,存续,A\n" for i in range(20))
    job = _upload(session, app, world, HEADER + rows)
    original, staged = checking.stage_batch, []

    def cancel_after_the_first(session_, *args):
        original(session_, *args)
        staged.append(1)
        if len(staged) == 1:  # an administrator cancels meanwhile
            imports.cancel(session_, actor=session_.merge(world["admin_a"]), import_id=job.id)

    monkeypatch.setattr(checking, "stage_batch", cancel_after_the_first)
    Worker(db, app.config, name="test").run_one(job.task_id)
    session.expire_all()
    assert session.get(ImportJob, job.id).status == "cancelled"
    assert len(staged) < 10 and _staged(session) == 0


def test_a_batch_stuck_while_being_applied_can_be_cancelled(run, session, app, db, world):
    job = run((HEADER + f"{code(1)},某公司,131024,存续,A\n").encode(), apply=False)
    imports.confirm(session, actor=world["admin_a"], import_id=job.id)
    session.commit()
    imports.cancel(session, actor=world["sysadmin"], import_id=job.id)
    session.commit()
    assert job.status == "cancelled" and "导入中" in job.error
    Worker(db, app.config, name="test").run_one(job.task_id)
    session.expire_all()
    assert session.get(ImportJob, job.id).status == "cancelled"
    assert _staged(session) == 0 and entity_count(session, world["a"].id) == 0


def test_a_final_batch_cannot_be_cancelled(run, session, world):
    job = run((HEADER + f"{code(1)},某公司,131024,存续,A\n").encode())
    assert job.status == "done"
    with pytest.raises(Conflict, match="已完成"):
        imports.cancel(session, actor=world["admin_a"], import_id=job.id)


def test_another_departments_admin_cannot_cancel(session, app, world):
    from shuangsuiji.errors import NotFound

    job = _upload(session, app, world, HEADER + f"{code(1)},某公司,131024,存续,A\n")
    with pytest.raises(NotFound):
        imports.cancel(session, actor=world["admin_b"], import_id=job.id)
    assert job.status == "validating"


@pytest.mark.parametrize("step", ["validate", "apply"])
def test_a_task_that_fails_for_good_fails_its_batch(run, session, app, world, step):
    # Its worker died on every attempt: the task fails for good, and so does the batch, with
    # the reason, its stage cleared (it does not stay 校验中 / 导入中).
    import datetime as dt

    from shuangsuiji.db import Task, utcnow
    from shuangsuiji.services.platform import tasks

    if step == "validate":
        job = _upload(session, app, world, HEADER + f"{code(1)},某公司,131024,存续,A\n")
    else:
        job = run((HEADER + f"{code(1)},某公司,131024,存续,A\n").encode(), apply=False)
        imports.confirm(session, actor=world["admin_a"], import_id=job.id)
        assert _staged(session) == 1
    task = session.get(Task, job.task_id)
    task.status, task.attempts = "running", app.config["WORKER_MAX_ATTEMPTS"]
    task.heartbeat_at = utcnow() - dt.timedelta(hours=1)
    session.flush()
    tasks.requeue_stale(session, older_than=dt.timedelta(minutes=10), max_attempts=task.attempts)
    session.commit()
    assert task.status == "failed"
    assert job.status == "failed" and tasks.STALE_REASON in job.error
    assert _staged(session) == 0


def test_an_error_while_applying_fails_the_batch_and_clears_its_stage(
    run, session, app, db, world, monkeypatch
):
    from shuangsuiji.services.registry.imports import applying

    job = run((HEADER + f"{code(1)},某公司,131024,存续,A\n").encode(), apply=False)
    imports.confirm(session, actor=world["admin_a"], import_id=job.id)
    session.commit()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(applying, "write", explode)
    Worker(db, app.config, name="test").run_one(job.task_id)
    session.expire_all()
    job = session.get(ImportJob, job.id)
    assert job.status == "failed" and "名录未作任何改动" in job.error
    assert _staged(session) == 0 and entity_count(session, world["a"].id) == 0


def test_an_xlsx_reaching_too_far_fails_its_batch_and_the_worker_lives_on(run, tmp_path):
    from tests.test_tabular import HEAD_ROW, _cell, sheet_xlsx

    far = HEAD_ROW + f'<row r="1048576">{_cell("XFD1048576", "x")}</row>'
    path = sheet_xlsx(tmp_path / "far.xlsx", far)
    job = run(path.read_bytes(), "对象.xlsx")
    assert job.status == "failed" and "数据区域过大" in job.error
