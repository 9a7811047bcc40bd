"""Typed JSON columns (shuangsuiji/db/documents.py): the models' properties read what the
services store, `as_dict` gives back the stored JSON, and no code outside the models decodes a
model's JSON column itself."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import shuangsuiji
from shuangsuiji.db.documents import CommitmentSummary, DrawSummary, RandomnessEntry

from .draw_world import DICE, TODAY, plan_values, populate

PACKAGE = Path(shuangsuiji.__file__).parent
# The models' JSON text columns.
JSON_COLUMNS = {
    "summary",
    "randomness",
    "manifest",
    "params",
    "result",
    "payload",
    "mapping",
    "unknown_headers",
    "scope",
    "strata",
    "slots",
    "plan_json",
}


def column_decodes(source: str) -> list[int]:
    """Lines of `source` that call json.loads on an attribute named like a JSON column
    (possibly behind `or "…"`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "loads"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "json"
            and node.args
        ):
            continue
        arg = node.args[0]
        if isinstance(arg, ast.BoolOp):
            arg = arg.values[0]
        if isinstance(arg, ast.Attribute) and arg.attr in JSON_COLUMNS:
            found.append(node.lineno)
    return found


def test_column_decodes_are_found():
    assert column_decodes('x = json.loads(draw.summary)["drawn"]\n') == [1]
    assert column_decodes('y = json.loads(job.mapping or "[]")\n') == [1]
    assert column_decodes("z = json.loads(request.data)\n") == []


def test_no_json_column_is_decoded_outside_the_models():
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.parts and path.parent.name != "db"
        for line in column_decodes(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_summaries_read_back_as_stored(session, world):
    from shuangsuiji.services.plans import draws, plans

    registry = populate(session, world["a"])
    admin = world["admin_a"]
    plan = plans.create(
        session,
        actor=admin,
        department_id=world["a"].id,
        raw=plan_values(matter_ids=[registry["matter"].id]),
    )
    commitment = plans.commit(session, actor=admin, plan_id=plan.id, today=TODAY)
    draw = draws.execute(session, actor=admin, commitment_id=commitment.id, randomness=DICE)

    summary = draw.summary_doc
    assert summary.as_dict() == json.loads(draw.summary)
    assert summary.drawn == sum(s.k for s in summary.strata) > 0
    assert summary.eligible == sum(s.N for s in summary.strata)
    frozen = commitment.summary_doc
    assert frozen.as_dict() == json.loads(commitment.summary)
    assert frozen.batch is None and frozen.drawn == summary.drawn
    assert {code: q.N for code, q in frozen.strata.items()} == {s.code: s.N for s in summary.strata}
    [dice] = draw.randomness_entries
    assert (dice.label, dice.kind, dice.witnesses) == ("dice", "digits", ["张三", "李四"])
    assert dice.as_dict() == json.loads(draw.randomness)[0]
    assert draw.manifest_doc["seed"] == draw.seed
    assert plan.slot_codes == ["DEPT-A", "DEPT-A"]
    assert [s.label for s in commitment.srdp_plan.randomness] == ["dice"]


def test_older_rows_without_later_keys_still_read():
    old = CommitmentSummary.parse('{"eligible": 3, "strata": {}, "drawn": 1, "inspectors": 2}')
    assert (old.excluded, old.inspectors_left_out, old.batch) == ({}, {}, None)
    assert DrawSummary.parse('{"strata": [], "drawn": 0, "slots": 2}').phase2 == 0
    [entry] = RandomnessEntry.parse_list('[{"label": "s", "kind": "server", "value": "ab"}]')
    assert entry.source is None and entry.witnesses == []
