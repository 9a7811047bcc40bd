"""Bundle files (SRDP-1 §2): strict parsing, canonical building, the commitment."""

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from shuangsuiji.domain.bundle import (
    FILES,
    BundleError,
    Entity,
    Exclusion,
    Inspector,
    build_bundle,
    canonical_json,
    entities_tsv,
    exclusions_tsv,
    inspectors_tsv,
    parse_bundle,
    parse_entities,
    parse_exclusions,
    parse_inspectors,
    parse_plan,
    sha256sums,
    snapshot,
)

V1 = Path(__file__).parent / "vectors" / "v1-demo"
PLAN = json.loads((V1 / "plan.json").read_bytes())


def v1_files():
    return {name: (V1 / name).read_bytes() for name in FILES}


def plan_bytes(**changes):
    return canonical_json({**PLAN, **changes})


def test_vector_files_parse_and_rebuild_byte_for_byte():
    files = v1_files()
    bundle = parse_bundle(files)
    rebuilt = build_bundle(
        reversed(list(bundle.entities.rows())),
        reversed(bundle.inspectors),
        reversed(bundle.exclusions),
        bundle.plan,
    )
    assert rebuilt == files


def test_empty_files_are_zero_bytes():
    assert parse_entities(b"").ids == ()
    assert parse_exclusions(b"") == ()
    assert exclusions_tsv([]) == b""


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (b"B\tA\tR1\nA\tA\tR1\n", 2, "not sorted"),
        (b"A\tA\tR1\nA\tB\tR1\n", 2, "duplicate entity_id"),
        (b"A\tA\tR1\r\nB\tA\tR1\r\n", 1, "CRLF"),
        (b"A\tA\tR1\nB\tA\tR1", 2, "does not end in LF"),
        (b"a\tA\tR1\n", 1, "field 1"),
        (b"A\tA R\tR1\n", 1, "field 2"),
        (b"A\tA\n", 1, "2 fields"),
        (b"A\tA\tR1\n\n", 2, "1 fields"),
        (b"\xef\xbb\xbfA\tA\tR1\n", 1, "non-ASCII"),
        (b"A\tA\tR1\nB\t\xe5\x8c\x97\tR1\n", 2, "non-ASCII"),
    ],
)
def test_bad_entities_file_is_refused_with_its_line(data, line, words):
    with pytest.raises(BundleError) as error:
        parse_entities(data)
    assert error.value.file == "entities.tsv"
    assert error.value.line == line
    assert words in str(error.value)
    assert str(error.value).startswith(f"entities.tsv line {line}: ")


def test_entity_lines_sort_by_bytes_not_by_id_length():
    # TAB sorts below every id character, so "AB" comes before "ABC" in both orders.
    assert parse_entities(b"AB\tA\tR1\nABC\tA\tR1\n").ids == ("AB", "ABC")


def test_inspector_cap_needs_a_plain_non_negative_integer():
    assert parse_inspectors(b"I1\tSAMR\tR1\t0\n")[0].cap == 0
    for cap in (b"01", b"-1", b"1.0", b""):
        with pytest.raises(BundleError, match="field 4"):
            parse_inspectors(b"I1\tSAMR\tR1\t" + cap + b"\n")


def test_duplicate_inspector_is_refused():
    with pytest.raises(BundleError, match="duplicate inspector_id"):
        parse_inspectors(b"I1\tSAMR\tR1\t1\nI1\tTAX\tR1\t1\n")


def test_duplicate_exclusion_line_is_refused_but_two_reasons_are_kept():
    with pytest.raises(BundleError, match="duplicate line"):
        parse_exclusions(b"E1\tI1\tCONFLICT\nE1\tI1\tCONFLICT\n")
    assert len(parse_exclusions(b"E1\tI1\tCONFLICT\nE1\tI1\tPREVIOUS\n")) == 2


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (json.dumps(PLAN).encode(), "not canonical"),
        (canonical_json(PLAN) + b"\n", "not canonical"),
        (b'{"plan_id":"A","plan_id":"B"}', "not canonical"),
        (plan_bytes(slots=["*", "SAMR"]), "slots"),
        (plan_bytes(slots=["*"]), "at least two"),
        (plan_bytes(rounding="round"), "rounding"),
        (plan_bytes(region_rule=True), "only objects, arrays, strings and integers"),
        (plan_bytes(strata={"A": {"ratio": 0.5}}), "only objects"),
        (plan_bytes(strata={"A": {"ratio": "1.5"}}), "between 0 and 1"),
        (plan_bytes(strata={"A": {"ratio": "0.5", "count": 3}}), "exactly one"),
        (plan_bytes(strata={"A": {"ratio": "0.5", "kmin": 3}}), "unknown keys"),
        (plan_bytes(randomness=[{"kind": "digits", "label": "d", "min_len": 19}]), "min_len"),
        (plan_bytes(randomness=[{"kind": "digits", "label": "d"}]), "min_len"),
        (plan_bytes(randomness=[{"kind": "dice", "label": "d"}]), "kind"),
        (plan_bytes(randomness=[]), "non-empty"),
        (plan_bytes(spec="SRDP-2"), "spec"),
        (plan_bytes(extra="x"), "unknown keys"),
        (b"[1]", "object"),
        (b"{", "not valid JSON"),
    ],
)
def test_bad_plan_is_refused(data, words):
    with pytest.raises(BundleError) as error:
        parse_plan(data)
    assert str(error.value).startswith("plan.json: ")
    assert words in str(error.value)


def test_plan_keeps_extra_randomness_keys_and_round_trips():
    source = {"kind": "server", "label": "srv", "sha256": "ab" * 32, "note": "rotated monthly"}
    data = plan_bytes(randomness=[source])
    plan = parse_plan(data)
    assert plan.randomness[0].commitment == "ab" * 32
    assert canonical_json(plan.to_json()) == data


def test_entity_stratum_missing_from_the_plan_is_refused():
    files = v1_files()
    files["entities.tsv"] += b"Z\tE\tR1\n"
    with pytest.raises(BundleError, match=r"strata \['E'\] are not in plan.json"):
        parse_bundle(files)
    with pytest.raises(BundleError, match="strata"):
        build_bundle([Entity("Z", "E", "R1")], [], [], parse_bundle(v1_files()).plan)


def test_missing_file_is_named():
    files = v1_files()
    del files["exclusions.tsv"]
    with pytest.raises(BundleError, match="exclusions.tsv: missing"):
        parse_bundle(files)


def test_building_refuses_bad_fields_and_duplicate_ids():
    with pytest.raises(BundleError, match="does not match"):
        entities_tsv([Entity("91-X", "A", "R1")])
    with pytest.raises(BundleError, match="duplicate entity_id"):
        entities_tsv([Entity("E1", "A", "R1"), Entity("E1", "B", "R1")])
    with pytest.raises(BundleError, match="duplicate inspector_id"):
        inspectors_tsv([Inspector("I1", "SAMR", "R1", 1), Inspector("I1", "SAMR", "R2", 1)])


def test_building_sorts_and_collapses_identical_exclusions():
    rows = [Exclusion("E2", "I1", "PREVIOUS"), Exclusion("E1", "I1", "CONFLICT")] * 2
    assert exclusions_tsv(rows) == b"E1\tI1\tCONFLICT\nE2\tI1\tPREVIOUS\n"


def test_sha256sums_is_coreutils_format():
    files = v1_files()
    sums = sha256sums(files)
    first = f"{hashlib.sha256(files['entities.tsv']).hexdigest()}  entities.tsv\n"
    assert sums.startswith(first)
    assert [line.split("  ")[1] for line in sums.splitlines()] == sorted(FILES)
    assert snapshot(sums) == hashlib.sha256(sums.encode()).hexdigest()


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="coreutils sha256sum not installed")
def test_sha256sums_checks_with_coreutils(tmp_path):
    files = v1_files()
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "SHA256SUMS").write_text(sha256sums(files))
    subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=tmp_path, check=True)


def test_tsv_from_lines_matches_the_record_builders_and_checks_in_bulk():
    from shuangsuiji.domain import bundle as b

    records = [b.Exclusion("B1", "I2", "CONFLICT"), b.Exclusion("A1", "I9", "PREVIOUS")]
    lines = [f"{e}\t{i}\t{r}" for e, i, r in records]
    assert b.tsv_from_lines(b.EXCLUSIONS, lines) == b.exclusions_tsv(records)
    assert b.tsv_from_lines(b.ENTITIES, []) == b""
    with pytest.raises(b.BundleError, match="line 2"):
        b.tsv_from_lines(b.ENTITIES, ["A1\tA\t131002", "a2\tA\t131002"])
    with pytest.raises(b.BundleError, match="non-ASCII|does not match"):
        b.tsv_from_lines(b.ENTITIES, ["A1\t甲\t131002"])
    with pytest.raises(b.BundleError, match="duplicate"):
        b.tsv_from_lines(b.EXCLUSIONS, ["A1\tI1\tCONFLICT", "A1\tI1\tCONFLICT"])


def test_files_split_in_blocks_parse_the_same(monkeypatch):
    from shuangsuiji.domain import bundle as b

    data = "".join(f"E{n:04d}\t{'AB'[n % 2]}\tR{n % 3}\n" for n in range(200)).encode()
    whole = b.parse_entities(data)
    monkeypatch.setattr(b, "_BLOCK", 7)  # many blocks, boundaries inside lines
    assert b.parse_entities(data) == whole
    assert whole.regions[4] is whole.regions[1]  # interned: one object per distinct value


def test_a_bad_line_is_found_in_any_block(monkeypatch):
    from shuangsuiji.domain import bundle as b

    lines = [f"E{n:04d}\tA\tR1\n" for n in range(100)]
    lines[57] = "e0057\tA\tR1\n"
    monkeypatch.setattr(b, "_BLOCK", 30)
    with pytest.raises(b.BundleError, match="line 58"):
        b.parse_entities("".join(lines).encode())
    with pytest.raises(b.BundleError, match="does not end in LF"):
        b.parse_entities("".join(lines[:3]).encode()[:-1])
