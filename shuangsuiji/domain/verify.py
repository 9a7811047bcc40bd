"""The SRDP-1 verifier (docs/srdp-1.md §8): re-run a draw from its bundle and compare the manifest.

    python -m shuangsuiji.domain.verify BUNDLE.zip

The zip holds entities.tsv, inspectors.tsv, exclusions.tsv, plan.json, SHA256SUMS and
manifest.json at its root, and for a batch of a recurring plan chain.json (§3.3): the revealed
server value must then lead to the chain tip published at activation (`--chain-tip` checks the
tip in chain.json against the one the plan published). Prints OK and a summary, or the problems
(exit status 1).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from . import chain, srdp
from .bundle import ANY_DEPT, FILES, Bundle, SrdpError, sha256sums
from .srdp import (
    Assignment,
    RandomnessValue,
    Replacement,
    ReplacementRequest,
    current_teams,
    draw,
    replay,
)

SUMS = "SHA256SUMS"
MANIFEST = "manifest.json"
_UNCHECKED = ("committed_at", "software")  # facts the bundle cannot confirm or refute


def team_problems(
    bundle: Bundle, assignment: Assignment, replacements: Sequence[Replacement] = ()
) -> list[str]:
    """Check the teams after the replacements against §6's invariants: caps, exclusions
    (including those added by replacements), departments, the region rule and distinct
    team members. Returns one message per violation, empty if none."""
    plan = bundle.plan
    inspectors = {i.inspector_id: i for i in bundle.inspectors}
    teams = current_teams(assignment, replacements)
    excluded = {(e, i) for e, i, _ in bundle.exclusions if e in teams}  # only drawn ones matter
    excluded |= {(r.entity_id, r.withdrawn) for r in replacements}
    loads: Counter[str] = Counter()
    problems = []
    for entity_id, team in teams.items():
        members = [m for m in team if m is not None]
        if len(set(members)) != len(members):
            problems.append(f"{entity_id}: the same inspector holds two slots")
        region = bundle.entities.region(entity_id)
        for slot, inspector_id in enumerate(team):
            if inspector_id is None:
                continue
            where = f"{entity_id} slot {slot}: {inspector_id}"
            inspector = inspectors.get(inspector_id)
            if inspector is None:
                problems.append(f"{where} is not in inspectors.tsv")
                continue
            loads[inspector_id] += 1
            if plan.slots[slot] not in (ANY_DEPT, inspector.dept):
                problems.append(f"{where} is from {inspector.dept}, not {plan.slots[slot]}")
            if (plan.region_rule == "different" and inspector.region == region) or (
                plan.region_rule == "same" and inspector.region != region
            ):
                problems.append(f"{where} breaks the region rule {plan.region_rule!r}")
            if (entity_id, inspector_id) in excluded:
                problems.append(f"{where} is excluded for this entity")
    for inspector_id, load in sorted(loads.items()):
        if load > inspectors[inspector_id].cap:
            problems.append(f"{inspector_id}: {load} entities, cap {inspectors[inspector_id].cap}")
    return problems


def _compare(path: str, expected: Any, actual: Any, problems: list[str]) -> None:
    """Report where `actual` (the manifest) departs from `expected` (recomputed): the first
    differing entry of a list, every differing key of an object."""
    if expected == actual:
        return
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected:
            if key not in actual:
                problems.append(f"{path}.{key}: missing from the manifest")
            else:
                _compare(f"{path}.{key}", expected[key], actual[key], problems)
        for key in sorted(set(actual) - set(expected)):
            problems.append(f"{path}.{key}: not expected in the manifest")
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            problems.append(f"{path}: {len(actual)} entries, recomputed {len(expected)}")
        for index, (e, a) in enumerate(zip(expected, actual, strict=False)):
            if e != a:
                _compare(f"{path}[{index}]", e, a, problems)
                break
    else:
        problems.append(f"{path}: manifest has {actual!r}, recomputed {expected!r}")


def _randomness(entries: Any) -> list[RandomnessValue]:
    return [
        RandomnessValue(
            e["label"],
            e["value"],
            {k: v for k, v in e.items() if k not in ("label", "kind", "value")},
        )
        for e in entries
    ]


def _requests(entries: Any) -> list[ReplacementRequest]:
    return [
        ReplacementRequest(e["entity_id"], e["slot"], e["reason"], datetime.fromisoformat(e["at"]))
        for e in entries
    ]


def verify(
    bundle_files: Mapping[str, bytes],
    manifest: Mapping[str, Any],
    *,
    published_tip: str | None = None,
) -> list[str]:
    """Re-run §3–§6 from the bundle files and the manifest's randomness and replacement
    requests, and compare every recomputed field of the manifest; then check the teams'
    invariants directly. Returns the problems found, empty when the draw checks out.

    `bundle_files` maps names to bytes; SHA256SUMS is checked when present, and chain.json
    (a recurring plan's batch, §3.3) when present: the revealed server value must hash to the
    chain tip, which must equal `published_tip` when given. `committed_at` and `software` are
    not checked (the bundle cannot confirm them).
    """
    problems: list[str] = chain_problems(bundle_files, manifest, published_tip=published_tip)
    have_all = all(name in bundle_files for name in FILES)
    sums = bundle_files.get(SUMS)
    if (
        sums is not None
        and have_all
        and sums.decode("ascii", "replace") != sha256sums(bundle_files)
    ):
        problems.append(f"{SUMS} does not match the four input files")
    try:
        result = draw(bundle_files, _randomness(manifest["randomness"]))
        replacements = replay(
            result.bundle, result.assignment, _requests(manifest.get("replacements", []))
        )
    except SrdpError as exc:
        return [*problems, str(exc)]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return [*problems, f"malformed manifest: {exc!r}"]
    expected = srdp.manifest(
        result,
        committed_at=datetime.min,
        software=manifest.get("software", {}),
        replacements=replacements,
    )
    for key, value in expected.items():
        if key in _UNCHECKED:
            continue
        if key not in manifest:
            problems.append(f"{key}: missing from the manifest")
        else:
            _compare(key, value, manifest[key], problems)
    problems += team_problems(result.bundle, result.assignment, replacements)
    return problems


def chain_problems(
    bundle_files: Mapping[str, bytes],
    manifest: Mapping[str, Any],
    *,
    published_tip: str | None = None,
) -> list[str]:
    """§3.3: the batch's revealed server value against chain.json (and the published tip)."""
    data = bundle_files.get(chain.CHAIN_FILE)
    if data is None:
        if published_tip is not None:
            return [f"a chain tip was given but the bundle has no {chain.CHAIN_FILE}"]
        return []
    try:
        link = chain.parse(data)
    except chain.ChainFileError as exc:
        return [str(exc)]
    return chain.problems(link, manifest, published_tip=published_tip)


class UnreadableBundle(ValueError):
    """The zip cannot be read, lacks a file, or its manifest is not JSON."""


def read_zip(path: str | os.PathLike) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The bundle files (the four inputs, SHA256SUMS and chain.json if present) and the parsed
    manifest of a zip."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            wanted = (*FILES, SUMS, MANIFEST, chain.CHAIN_FILE)
            files = {n: archive.read(n) for n in wanted if n in names}
    except (OSError, zipfile.BadZipFile) as exc:
        raise UnreadableBundle(f"cannot read {path}: {exc}") from exc
    missing = [n for n in (*FILES, SUMS, MANIFEST) if n not in files]
    if missing:
        raise UnreadableBundle(f"{path} lacks {', '.join(missing)}")
    try:
        manifest_ = json.loads(files.pop(MANIFEST))
    except ValueError as exc:
        raise UnreadableBundle(f"{MANIFEST} is not valid JSON: {exc}") from exc
    return files, manifest_


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m shuangsuiji.domain.verify", description="Verify an SRDP-1 draw bundle."
    )
    parser.add_argument("bundle", help="the bundle zip (input files, SHA256SUMS, manifest.json)")
    parser.add_argument(
        "--chain-tip", help="a recurring plan's chain tip as published at activation (§3.3)"
    )
    args = parser.parse_args(argv)
    try:
        files, manifest_ = read_zip(args.bundle)
    except UnreadableBundle as exc:
        print(exc, file=sys.stderr)
        return 2
    problems = verify(files, manifest_, published_tip=args.chain_tip)
    if problems:
        print(f"FAILED: {len(problems)} problem(s)")
        for problem in problems:
            print(f"- {problem}")
        return 1
    assignment = manifest_["assignment"]
    print(
        f"OK {manifest_['plan_id']}: snapshot {manifest_['snapshot_sha256']}, seed "
        f"{manifest_['seed']}, {len(manifest_['sample'])} entities drawn, "
        f"{len(assignment['rows'])} slots staffed, {len(assignment['unstaffed'])} unstaffed, "
        f"{len(manifest_.get('replacements', []))} replacements"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
