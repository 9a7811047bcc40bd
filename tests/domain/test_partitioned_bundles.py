"""Partitioned bundles (SRDP-1 §9) are specified but not implemented in this version: a bundle
split into entities.0001.tsv, … is refused as incomplete, never drawn from a part of its
entities, and a plan.json carrying "parts" is refused, as docs/srdp-1.md §9 says.

When §9 is implemented these tests give way to ones drawing a partitioned bundle like the
union of its parts (§9.2)."""

import json
import zipfile
from pathlib import Path

import pytest

from shuangsuiji.domain.bundle import FILES, BundleError, canonical_json, parse_bundle, parse_plan
from shuangsuiji.domain.verify import UnreadableBundle, read_zip

V1 = Path(__file__).parent / "vectors" / "v1-demo"


def partitioned_files() -> dict[str, bytes]:
    """v1-demo's entities split into two parts, as §9.1 lays them out."""
    files = {name: (V1 / name).read_bytes() for name in FILES}
    lines = files.pop("entities.tsv").splitlines(keepends=True)
    half = len(lines) // 2
    files["entities.0001.tsv"] = b"".join(lines[:half])
    files["entities.0002.tsv"] = b"".join(lines[half:])
    plan = json.loads(files["plan.json"])
    files["plan.json"] = canonical_json({**plan, "parts": 2})
    return files


def test_a_partitioned_bundle_is_refused_as_incomplete():
    with pytest.raises(BundleError, match="entities.tsv: missing from the bundle"):
        parse_bundle(partitioned_files())


def test_a_plan_with_parts_is_refused():
    with pytest.raises(BundleError, match=r"unknown keys \['parts'\]"):
        parse_plan(partitioned_files()["plan.json"])


def test_the_verifier_refuses_a_partitioned_zip(tmp_path):
    path = tmp_path / "partitioned.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in partitioned_files().items():
            archive.writestr(name, data)
        archive.writestr("SHA256SUMS", b"")
        archive.writestr("manifest.json", b"{}")
    with pytest.raises(UnreadableBundle, match="lacks entities.tsv"):
        read_zip(path)
