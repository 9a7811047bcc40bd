"""Golden tests: the normative SRDP-1 vectors (docs/srdp-1.md, "Test vectors"), reproduced
field by field."""

import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import consistent_sampler
import pytest

from shuangsuiji.domain import srdp
from shuangsuiji.domain.bundle import FILES, parse_bundle, sha256sums, snapshot
from shuangsuiji.domain.verify import verify

VECTORS = Path(__file__).parent / "vectors"
NAMES = ["v1-demo", "v2-joint-repair"]
ROOT = Path(__file__).resolve().parents[2]


def load(name):
    folder = VECTORS / name
    files = {n: (folder / n).read_bytes() for n in FILES}
    expected = json.loads((folder / "expected.json").read_bytes())
    randomness = [srdp.RandomnessValue(r["label"], r["value"]) for r in expected["randomness"]]
    return files, expected, randomness


@pytest.fixture(params=NAMES)
def vector(request):
    files, expected, randomness = load(request.param)
    return files, expected, srdp.draw(files, randomness)


def full_manifest(result, replacements=()):
    return srdp.manifest(
        result,
        committed_at=datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
        software={"name": "shuangsuiji", "version": "test"},
        replacements=replacements,
    )


def test_commitment_matches(vector):
    files, expected, result = vector
    assert sha256sums(files) == expected["sha256sums"] == result.sha256sums
    assert snapshot(result.sha256sums) == expected["snapshot_sha256"] == result.snapshot


def test_seed_text_and_seed_match(vector):
    _, expected, result = vector
    assert result.seed_text == expected["seed_text"]
    assert result.seed == expected["seed"]


def test_quotas_and_thresholds_match(vector):
    _, expected, result = vector
    assert [(q.code, q.n, q.k) for q in result.quotas] == [
        (s["code"], s["N"], s["k"]) for s in expected["strata"]
    ]
    assert full_manifest(result)["strata"] == expected["strata"]


def test_sample_with_tickets_matches(vector):
    _, expected, result = vector
    assert full_manifest(result)["sample"] == expected["sample"]
    assert srdp.sample_sha256(result.sample) == expected["sample_sha256"]


def test_assignment_rows_match(vector):
    _, expected, result = vector
    got = full_manifest(result)["assignment"]
    assert got["assign_key"] == expected["assignment"]["assign_key"]
    assert got["rows"] == expected["assignment"]["rows"]
    assert got["unstaffed"] == expected["assignment"]["unstaffed"]
    assert srdp.assignment_sha256(result.assignment) == expected["assignment_sha256"]


def test_every_expected_field_is_reproduced(vector):
    _, expected, result = vector
    manifest = full_manifest(result)
    assert {key: manifest[key] for key in expected} == expected


def test_v2_phase_two_moves_keep_their_phase_one_pick():
    files, _, randomness = load("v2-joint-repair")
    result = srdp.draw(files, randomness)
    moved = [r for r in result.assignment.rows if r.phase == 2]
    assert [(r.entity_id, r.slot, r.n_avail) for r in moved] == [
        ("91131000000000006M", 1, 3),
        ("911310000000000029", 1, 0),
    ]


def test_consistent_sampler_reproduces_each_stratum(vector):
    files, _, result = vector
    bundle = parse_bundle(files)
    for stratum in result.sample.strata:
        ids = [e.entity_id for e in bundle.entities.rows() if e.stratum == stratum.code]
        theirs = list(
            consistent_sampler.sampler(
                ids, seed=result.seed, take=stratum.k, output="tuple", digits=18
            )
        )
        ours = [
            (d.ticket, d.entity_id, 1) for d in result.sample.drawn if d.stratum == stratum.code
        ]
        assert theirs == ours


def test_verify_accepts_the_vector_draw(vector):
    files, _, result = vector
    assert verify(files, full_manifest(result)) == []


def test_verify_names_a_tampered_assignment(vector):
    files, _, result = vector
    manifest = full_manifest(result)
    rows = manifest["assignment"]["rows"]
    rows[0]["inspector_id"], rows[1]["inspector_id"] = (
        rows[1]["inspector_id"],
        rows[0]["inspector_id"],
    )
    problems = verify(files, manifest)
    assert any(p.startswith("assignment.rows[0].inspector_id") for p in problems)


def test_verify_names_a_changed_input_file(vector):
    files, _, result = vector
    manifest = full_manifest(result)
    changed = dict(files)
    changed["inspectors.tsv"] = files["inspectors.tsv"].replace(b"\t3\n", b"\t2\n", 1)
    problems = verify(changed, manifest)
    assert any(p.startswith("sha256sums") for p in problems)
    assert any(p.startswith("seed") for p in problems)


def write_zip(path, files, manifest):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("SHA256SUMS", sha256sums(files))
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))


def run_verifier(path):
    return subprocess.run(
        [sys.executable, "-m", "shuangsuiji.domain.verify", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_verifier_cli_says_ok_for_a_good_bundle(vector, tmp_path):
    files, expected, result = vector
    write_zip(tmp_path / "bundle.zip", files, full_manifest(result))
    done = run_verifier(tmp_path / "bundle.zip")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"OK {expected['plan_id']}")


def test_verifier_cli_fails_on_a_wrong_seed(vector, tmp_path):
    files, _, result = vector
    manifest = full_manifest(result)
    manifest["seed"] = "0" * 64
    write_zip(tmp_path / "bundle.zip", files, manifest)
    done = run_verifier(tmp_path / "bundle.zip")
    assert done.returncode == 1
    assert "seed: manifest has" in done.stdout
