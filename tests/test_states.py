"""Typed states: the database CHECKs equal the enums, and no status or role literal creeps back.

Every role and status lives in shuangsuiji/db/states.py. The migrated database (the session
`engine`, built by the migrations, not by the models) must list exactly the enum values in each
CHECK constraint; and the source (Python and templates) must compare against the enum members,
never against a string like "drawn" or 'sysadmin'.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from sqlalchemy import inspect

from shuangsuiji.db import Base, states

PACKAGE = Path(__file__).resolve().parent.parent / "shuangsuiji"
ENUMS = states.ENUMS
VALUES = {str(member) for enum in ENUMS for member in enum}
# Values that mean nothing but a role or a state: a string constant holding one is a literal
# wherever it appears (docstrings aside).
DISTINCTIVE = {
    str(m)
    for m in (
        states.Role.SYSADMIN,
        states.Role.DEPT_ADMIN,
        states.Role.AUDITOR,
        states.PlanStatus.DRAWN,
        states.PlanStatus.COMMITTED,
        states.RecordStatus.SUBMITTED,
        states.ListingStatus.REMOVAL_REQUESTED,
        states.ImportStatus.VALIDATING,
        states.ImportStatus.APPLYING,
        states.TaskStage.RESULTS_ENTERED,
    )
}
# Names whose comparison with, or assignment of, a string constant is a state literal.
STATEFUL = re.compile(r"(^|_)(status|statuses|role|roles|stage|state|scope|worst)$")
# A line that spells a value for another reason (a user name "auditor") says so.
PRAGMA = "# not-a-state"
# Modules that may spell the values out: the enums themselves and the migrations (frozen
# history). Nothing else.
ALLOWED = {PACKAGE / "db" / "states.py"}


def _check_values(sqltext: str) -> set[str]:
    return set(re.findall(r"'([^']*)'", sqltext))


@pytest.mark.parametrize(("table", "column"), sorted(states.CHECKED))
def test_the_migrated_check_constraint_lists_the_enum(engine, table, column):
    enum = states.CHECKED[(table, column)]
    checks = inspect(engine).get_check_constraints(table)
    # The constraint named after the column (naming convention ck_<table>_<name>).
    (check,) = [c for c in checks if c["name"] == f"ck_{table}_{column}"]
    assert _check_values(check["sqltext"]) == {str(m) for m in enum}


@pytest.mark.parametrize(("table", "column"), sorted(states.CHECKED))
def test_the_model_check_constraint_is_derived_from_the_enum(table, column):
    enum = states.CHECKED[(table, column)]
    (check,) = [
        c
        for c in Base.metadata.tables[table].constraints
        if getattr(c, "name", None) == f"ck_{table}_{column}"
    ]
    assert _check_values(str(check.sqltext)) == {str(m) for m in enum}


def test_every_enum_backed_by_a_check_is_listed():
    # The enums that are not stored in a CHECKed column: computed states.
    computed = {states.TaskStage, states.DeadlineState}
    assert set(states.CHECKED.values()) | computed == set(ENUMS)


# --- literals in the source -------------------------------------------------------------------


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return str(node.slice.value)
    if isinstance(node, ast.Call):
        return _name(node.func)
    return None


def _stateful(node: ast.AST | None) -> bool:
    name = _name(node) if node is not None else None
    return bool(name and STATEFUL.search(name))


def _literals(node: ast.AST | None) -> list[ast.Constant]:
    """The state-valued string constants `node` is or holds (a tuple, list or set of them)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in VALUES:
        return [node]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [c for e in node.elts for c in _literals(e)]
    return []


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _default_literals(node: ast.arguments) -> list[ast.Constant]:
    """The state literals given as defaults of parameters named like a state."""
    found: list[ast.Constant] = []
    args = [*node.posonlyargs, *node.args]
    pairs = [
        *zip(args[len(args) - len(node.defaults) :], node.defaults, strict=True),
        *zip(node.kwonlyargs, node.kw_defaults, strict=True),
    ]
    for arg, default in pairs:
        if default is not None and STATEFUL.search(arg.arg):
            found += _literals(default)
    return found


def _node_literals(node: ast.AST) -> list[ast.Constant]:
    """The state literals one node compares with, assigns, passes or defaults to a state."""
    if isinstance(node, ast.Compare):
        sides = [node.left, *node.comparators]
        return [c for s in sides for c in _literals(s)] if any(map(_stateful, sides)) else []
    if isinstance(node, ast.keyword):
        return _literals(node.value) if node.arg and STATEFUL.search(node.arg) else []
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        membership = node.func.attr in {"in_", "not_in", "notin_"}
        return (
            [c for a in node.args for c in _literals(a)]
            if membership and _stateful(node.func.value)
            else []
        )
    if isinstance(node, ast.Dict):
        return [
            c
            for key, value in zip(node.keys, node.values, strict=True)
            if isinstance(key, ast.Constant) and STATEFUL.search(str(key.value))
            for c in _literals(value)
        ]
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return _literals(node.value) if any(map(_stateful, targets)) else []
    if isinstance(node, ast.arguments):
        return _default_literals(node)
    return []


def python_literals(source: str) -> list[tuple[int, str]]:
    """(line, value) of every status or role spelled as a string in Python `source`."""
    tree = ast.parse(source)
    found = [c for node in ast.walk(tree) for c in _node_literals(node)]
    # Docstrings and keys into a JSON payload (summary["drawn"], a count) are no states.
    exempt = _docstrings(tree) | {
        id(node.slice) for node in ast.walk(tree) if isinstance(node, ast.Subscript)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in DISTINCTIVE and id(node) not in exempt:
            found.append(node)
    lines = source.splitlines()
    return sorted({(c.lineno, c.value) for c in found if PRAGMA not in lines[c.lineno - 1]})


JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
QUOTED = re.compile(r"""(['"])([a-z_]+)\1""")
TEMPLATE_STATEFUL = re.compile(
    r"""\b\w*(status|role|stage|state|scope|worst)\b\s*(==|!=|\bin\b|\bnot in\b)\s*[(\[]?"""
    r"""\s*(['"][a-z_]+['"]\s*,?\s*)+|["']worst["']\s*,\s*["']equalto["']\s*,\s*["'](\w+)["']"""
)


def template_literals(source: str) -> list[tuple[int, str]]:
    """(line, value) of every status or role spelled as a string inside a Jinja tag."""
    found = set()
    for tag in JINJA_TAG.finditer(source):
        line = source.count("\n", 0, tag.start()) + 1
        for match in QUOTED.finditer(tag.group()):
            if match.group(2) in DISTINCTIVE:
                found.add((line, match.group(2)))
        for match in TEMPLATE_STATEFUL.finditer(tag.group()):
            for quoted in QUOTED.finditer(match.group()):
                if quoted.group(2) in VALUES:
                    found.add((line, quoted.group(2)))
    return sorted(found)


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts or path in ALLOWED:
            continue
        yield path, python_literals
    for path in sorted((PACKAGE / "web" / "templates").rglob("*.html")):
        yield path, template_literals


def test_no_status_or_role_literal_outside_the_enums():
    offenders = []
    for path, scan in _sources():
        for line, value in scan(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {value!r}")
    assert offenders == [], "use the enums of shuangsuiji/db/states.py:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    "source",
    [
        'if plan.status == "drawn": pass',
        'x = user.role in ("sysadmin", "auditor")',
        'select(Plan).where(Plan.status.in_(["draft", "committed"]))',
        'job.status = "failed"',
        'make(status="queued")',
        'row = {"status": "done"}',
        'def f(role="inspector"): pass',
        'ROLES = ["sysadmin"]',
    ],
)
def test_the_scanner_finds_python_literals(source):
    assert python_literals(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "if plan.status == PlanStatus.DRAWN: pass",
        'counts = {"failed": 3}',
        'open(path, "read")',
        '"""A drawn plan."""',
        'n = json.loads(draw.summary)["drawn"]',
        'login("auditor")  # not-a-state: the demo user name',
        'kind = "inspectors"',
    ],
)
def test_the_scanner_leaves_other_strings_alone(source):
    assert python_literals(source) == []


@pytest.mark.parametrize(
    "source",
    [
        "{% if current_user.role == 'sysadmin' %}x{% endif %}",
        "{% if job.status in ('validating', 'done') %}x{% endif %}",
        '{% if task.status == "failed" %}x{% endif %}',
        '{% set o = progress|selectattr("worst", "equalto", "overdue")|list %}',
    ],
)
def test_the_scanner_finds_template_literals(source):
    assert template_literals(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "{% if plan.status == PlanStatus.DRAWN %}x{% endif %}",
        "{% if name == 'inspector' %}x{% endif %}",
        '<option value="read">只读</option>',
    ],
)
def test_the_scanner_leaves_other_template_strings_alone(source):
    assert template_literals(source) == []


# --- permission rules live in scope ---------------------------------------------------------

ROLE_COMPARISON = re.compile(r"\.role\s*(==|!=|\bin\b|\bnot in\b)")


def _role_comparisons(source: str) -> list[int]:
    tree = ast.parse(source)
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and any(_name(side) == "role" for side in [node.left, *node.comparators])
    )


def test_views_and_handlers_ask_scope_instead_of_comparing_roles():
    offenders = []
    for folder in ("web", "api"):
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            for line in _role_comparisons(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    for path in sorted((PACKAGE / "web" / "templates").rglob("*.html")):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ROLE_COMPARISON.search(text):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{number}")
    assert offenders == [], "ask services/scope.py (is_sysadmin, administers…):\n" + "\n".join(
        offenders
    )


def test_the_role_check_finds_comparisons():
    assert _role_comparisons("ok = user.role == Role.SYSADMIN") == [1]
    assert _role_comparisons("ok = scope.is_sysadmin(user)") == []
    assert ROLE_COMPARISON.search("{% if current_user.role in (Role.AUDITOR,) %}")
    assert not ROLE_COMPARISON.search("{{ ROLE_LABELS[u.role] }}")
