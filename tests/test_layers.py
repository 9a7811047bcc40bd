"""Every module of the top of the package has its place in the import-layers contract
(setup.cfg), so a new module cannot sidestep `lint-imports` by being left out."""

from __future__ import annotations

import ast
import configparser
import pkgutil
import re
from pathlib import Path

import shuangsuiji

SETUP_CFG = Path(__file__).resolve().parent.parent / "setup.cfg"
# Alembic's scripts are loaded by Alembic, not imported by the package.
OUTSIDE_THE_LAYERS = {"migrations"}


def contract(name: str) -> configparser.SectionProxy:
    config = configparser.ConfigParser()
    config.read(SETUP_CFG, encoding="utf-8")
    return config[f"importlinter:contract:{name}"]


def modules_of(option: str) -> set[str]:
    return set(re.findall(r"shuangsuiji\.(\w+)", option))


def test_every_top_level_module_is_in_the_layers_contract():
    top = {m.name for m in pkgutil.iter_modules(shuangsuiji.__path__)} - OUTSIDE_THE_LAYERS
    assert top, "the package has modules"
    assert sorted(top - modules_of(contract("layers")["layers"])) == []


def test_background_processes_cannot_import_the_request_edge():
    background = contract("no-request-edge-in-background")
    assert modules_of(background["source_modules"]) == {"worker", "scheduler"}
    assert {"edge", "access", "downloads"} <= modules_of(background["forbidden_modules"])


def transaction_calls(source: str) -> list[int]:
    """Lines of `source` that open or end a unit of work: `.transaction(…)`, `.commit()`,
    `.rollback()`, `.begin()` (a savepoint, `begin_nested`, is not one)."""
    owning = {"transaction", "commit", "rollback", "begin"}
    return sorted(
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in owning
    )


def test_transaction_calls_are_found():
    assert transaction_calls("with db.transaction() as s:\n    s.commit()\n") == [1, 2]
    assert transaction_calls("with session.begin_nested():\n    pass\n") == []


def test_services_flush_and_never_commit():
    """The request edge, the worker's task handlers and the scheduler's jobs own the
    transactions; the services below them only flush."""
    services = Path(shuangsuiji.__file__).parent / "services"
    found = [
        f"{path.relative_to(services.parent)}:{line}"
        for path in sorted(services.rglob("*.py"))
        for line in transaction_calls(path.read_text(encoding="utf-8"))
    ]
    assert found == []
