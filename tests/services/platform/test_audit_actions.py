"""One registry of audit action codes: every code the source records has a Chinese label,
`audit.record` refuses any other, and the audit page shows snapshots as a labelled table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shuangsuiji.db import AuditEntry
from shuangsuiji.services.platform import audit, audit_actions
from shuangsuiji.services.registry import records
from shuangsuiji.services.results import credit, results

from ...conftest import login

PACKAGE = Path(audit_actions.__file__).resolve().parents[2]
# The codes built from a template (an f-string) at a call site, and the values it takes.
TEMPLATES = {
    "{}.create": list(records.LABELS),  # the lists a clerk edits one by one
    "{}.update": list(records.LABELS),
    "results.{}": [d for d in results.DECISIONS if d != "approve"],  # approve: results.publish
    "credit.listing_{}": list(credit.ACTIONS),
}


def _template(node: ast.JoinedStr) -> str:
    return "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)


def _codes(node: ast.AST) -> tuple[list[str], list[str]]:
    """(constant codes, templates) an `action=` argument can hold."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value:
        return [node.value], []
    if isinstance(node, ast.IfExp):
        body, body_t = _codes(node.body)
        other, other_t = _codes(node.orelse)
        return body + other, body_t + other_t
    if isinstance(node, ast.JoinedStr):
        return [], [_template(node)]
    return [], []  # a variable: its value is a constant at the caller's site


def used_codes() -> tuple[dict[str, str], dict[str, str]]:
    """Every action code and code template passed as `action=` in the package, with where."""
    constants, templates = {}, {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg != "action":
                    continue
                found, shapes = _codes(keyword.value)
                where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                constants |= dict.fromkeys(found, where)
                templates |= dict.fromkeys(shapes, where)
    return constants, templates


def test_every_code_the_source_records_has_a_label():
    constants, templates = used_codes()
    assert "plans.commit" in constants and "{}.create" in templates  # the scan sees them
    missing = [
        f"{where}: {code}" for code, where in constants.items() if code not in audit_actions.ACTIONS
    ]
    assert missing == [], "add these codes to audit_actions.ACTIONS"
    unknown = [f"{where}: {t}" for t, where in templates.items() if t not in TEMPLATES]
    assert unknown == [], "name the values of these code templates in TEMPLATES"
    expanded = [t.format(v) for t, values in TEMPLATES.items() for v in values]
    assert [c for c in expanded if c not in audit_actions.ACTIONS] == []


def test_every_label_is_chinese_and_every_listed_code_is_used():
    constants, templates = used_codes()
    expanded = {t.format(v) for t, values in TEMPLATES.items() for v in values}
    assert set(audit_actions.ACTIONS) == set(constants) | expanded
    assert all(
        any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in audit_actions.ACTIONS.values()
    )


def test_record_refuses_an_unknown_code(session):
    count = session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(ValueError, match="user.crate"):
        audit.record(session, actor=None, action="user.crate", object_type="user", object_id=1)
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == count


def test_an_entry_reads_as_a_labelled_field_table(session, world):
    entry = audit.record(
        session,
        actor=world["admin_a"],
        action="user.update",
        object_type="user",
        object_id=world["insp_a"].id,
        before={"display_name": "张三", "active": True, "role": "inspector"},
        after={"display_name": "张三丰", "active": False, "role": "inspector"},
        department_id=world["a"].id,
    )
    shown = audit.readable(entry)
    assert (shown.action_label, shown.object_label) == ("修改用户", "用户")
    rows = {f.label: (f.before, f.after, f.changed) for f in shown.fields}
    assert rows == {
        "姓名": ("张三", "张三丰", True),
        "启用": ("是", "否", True),
        "角色": ("inspector", "inspector", False),
    }


def test_the_audit_page_shows_labels_and_fields_not_json(app, client, world, session):
    audit.record(
        session,
        actor=world["admin_a"],
        action="workday.add",
        object_type="workday_override",
        object_id=7,
        after={"date": "2030-10-12", "is_workday": True, "note": "调休上班"},
        department_id=world["a"].id,
    )
    session.commit()
    login(client, "admin_a")
    page = client.get("/console/audit").get_data(as_text=True)
    assert "添加工作日调整" in page and "工作日调整 #7" in page
    assert "<th>上班</th><td>是</td>" in page and "<th>说明</th><td>调休上班</td>" in page
    assert '"is_workday"' not in page and "{&#34;" not in page
    filtered = client.get("/console/audit?action=workday.add").get_data(as_text=True)
    assert '<option value="workday.add" selected>添加工作日调整</option>' in filtered


def test_the_audit_page_reads_each_entry_as_a_sentence(app, client, world, session):
    audit.record(
        session,
        actor=world["admin_a"],
        action="entities.update",
        object_type="entities",
        object_id=12,
        before={"name": "香河县恒达商贸有限公司", "status": "存续", "grid": "网格01"},
        after={"name": "香河县恒达商贸有限公司", "status": "注销", "grid": "网格02"},
        department_id=world["a"].id,
    )
    audit.record(session, actor=None, action="audit.verify", object_type="x", object_id=1)
    session.commit()
    login(client, "admin_a")
    page = client.get("/console/audit").get_data(as_text=True)
    sentences = re.findall(r'<p class="audit-sentence">([^<]+)</p>', page)
    assert (
        "admin_a 修改检查对象：检查对象 #12（香河县恒达商贸有限公司），改动了片区（网格）、状态。"
        in sentences
    )
    assert "entities.update" not in page.split('id="audit-action"')[1].split("</select>")[1]
    assert 'title="' not in page  # nothing hidden in a title attribute
    root = app.test_client()
    login(root, "root")
    page = root.get("/console/audit?action=audit.verify").get_data(as_text=True)
    assert re.search(r'<p class="audit-sentence">系统 [^<]+：[^<]+ #1。</p>', page)
