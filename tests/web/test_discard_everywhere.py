"""Every console view that catches an AppError either answers with the error's status (the
edge then rolls back), hands the error on, or calls edge.discard() before answering below 400
(a redirect, a flash, a 200 page). A new view that forgets would commit a failed service's
work: this test names it."""

from __future__ import annotations

import ast
from pathlib import Path

import shuangsuiji.web

CAUGHT = {"AppError", "Invalid", "Conflict", "NotFound", "Forbidden"}


def _names(node) -> set[str]:
    if node is None:
        return set()
    if isinstance(node, ast.Tuple):
        return {n.id for n in node.elts if isinstance(n, ast.Name)}
    return {node.id} if isinstance(node, ast.Name) else set()


def _settled(handler: ast.ExceptHandler) -> bool:
    body = ast.Module(body=handler.body, type_ignores=[])
    text = ast.unparse(body)
    if any(isinstance(stmt, ast.Raise) for stmt in handler.body):
        return True  # handed on to the error handler
    if "discard(" in text:
        return True
    # The error is kept (error = exc) or answered with its own status.
    return f"{handler.name}.status" in text or f"= {handler.name}" in text


def test_every_caught_app_error_is_discarded_or_answered_with_its_status():
    forgotten = []
    for path in Path(shuangsuiji.web.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            caught = isinstance(node, ast.ExceptHandler) and _names(node.type) & CAUGHT
            if caught and not _settled(node):
                forgotten.append(f"{path.name}:{node.lineno}")
    assert forgotten == []
