"""The SRDP-1 input bundle (docs/srdp-1.md §2): four files, parsed strictly and built canonically.

A bundle is committed by its bytes, so parsing never repairs anything: a file that is not in
canonical form is refused with a `BundleError` naming the file and line. Building goes the other
way, from records to the one canonical byte string, so the app can freeze its registries.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import operator
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple, NoReturn

SPEC = "SRDP-1"
ENTITIES = "entities.tsv"
INSPECTORS = "inspectors.tsv"
EXCLUSIONS = "exclusions.tsv"
PLAN = "plan.json"
FILES = (ENTITIES, EXCLUSIONS, INSPECTORS, PLAN)  # sorted by name, as in SHA256SUMS

ID = r"[0-9A-Z]{1,64}"
CODE = r"[A-Za-z0-9_.-]{1,32}"
CAP = r"0|[1-9][0-9]*"
CODE_RE = re.compile(CODE)
PLAN_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
RATIO_RE = re.compile(r"[0-9]+(\.[0-9]+)?")

ROUNDINGS = ("ceil", "floor", "half_up")
REGION_RULES = ("none", "different", "same")
SELECTIONS = ("uniform", "least_loaded")
KINDS = ("digits", "text", "server")
ANY_DEPT = "*"
MIN_DIGITS = 20


class SrdpError(ValueError):
    """Any input the SRDP-1 engine refuses; the message says what and where, in English."""


class BundleError(SrdpError):
    """数据包错误: a bundle file that is not valid, canonical SRDP-1 input."""

    def __init__(self, file: str, message: str, line: int | None = None):
        self.file = file
        self.line = line
        where = f"{file} line {line}" if line is not None else file
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class Entity:
    """检查对象: one eligible market entity, with its stratum (信用风险分类) and region."""

    entity_id: str
    stratum: str
    region: str


@dataclass(frozen=True)
class EntityTable:
    """检查对象名录: the eligible entities of a bundle, column-wise, sorted by entity_id.

    Columns rather than records because a provincial registry has millions of rows and the
    sampler works on whole columns; `rows()` gives `Entity` records when needed.
    """

    ids: tuple[str, ...]
    strata: tuple[str, ...]
    regions: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> Iterator[Entity]:
        return map(Entity, self.ids, self.strata, self.regions)

    def region(self, entity_id: str) -> str | None:
        """The entity's region, or None if it is not in the table (binary search)."""
        n = bisect.bisect_left(self.ids, entity_id)
        return self.regions[n] if n < len(self.ids) and self.ids[n] == entity_id else None


@dataclass(frozen=True, slots=True)
class Inspector:
    """执法检查人员: an inspector who may be drawn; `cap` = most entities in this draw."""

    inspector_id: str
    dept: str
    region: str
    cap: int


class Exclusion(NamedTuple):
    """回避关系: an entity and an inspector that must never meet, with a reason code.

    A named tuple: a bundle may hold hundreds of thousands, and tuples are cheap to make.
    """

    entity_id: str
    inspector_id: str
    reason: str


@dataclass(frozen=True)
class StratumRule:
    """抽查比例: how many of one stratum to draw, by `ratio` (a decimal string) or `count`."""

    code: str
    ratio: str | None = None
    count: int | None = None
    k_min: int | None = None
    k_max: int | None = None


@dataclass(frozen=True)
class RandomnessSource:
    """随机源: one named source of public randomness; sources enter the seed in plan order.

    `extra` holds any further keys of the plan entry (sorted), e.g. a server source's `sha256`
    commitment or a description of where a text value will be published.
    """

    label: str
    kind: str
    min_len: int | None = None
    extra: tuple[tuple[str, Any], ...] = ()

    @property
    def commitment(self) -> str | None:
        """hex(SHA256(value)) of a server source, when the plan carries it as `sha256`."""
        return dict(self.extra).get("sha256")

    @property
    def source(self) -> str | None:
        """Where a text source's value will be published, when the plan says so."""
        return dict(self.extra).get("source")


@dataclass(frozen=True)
class Plan:
    """抽查计划 (plan.json): strata, rounding, team slots, region rule, selection, randomness."""

    plan_id: str
    strata: tuple[StratumRule, ...]  # ascending code
    rounding: str
    slots: tuple[str, ...]
    region_rule: str
    selection: str
    randomness: tuple[RandomnessSource, ...]
    spec: str = SPEC

    def to_json(self) -> dict[str, Any]:
        """The plan.json object (key order is irrelevant: `plan_json` sorts)."""
        strata = {}
        for rule in self.strata:
            entry: dict[str, Any] = {}
            for key in ("ratio", "count", "k_min", "k_max"):
                if getattr(rule, key) is not None:
                    entry[key] = getattr(rule, key)
            strata[rule.code] = entry
        randomness = []
        for source in self.randomness:
            entry = {"label": source.label, "kind": source.kind, **dict(source.extra)}
            if source.min_len is not None:
                entry["min_len"] = source.min_len
            randomness.append(entry)
        return {
            "spec": self.spec,
            "plan_id": self.plan_id,
            "strata": strata,
            "rounding": self.rounding,
            "slots": list(self.slots),
            "region_rule": self.region_rule,
            "selection": self.selection,
            "randomness": randomness,
        }


@dataclass(frozen=True)
class Bundle:
    """数据包: the four committed input files of a draw, parsed."""

    entities: EntityTable
    inspectors: tuple[Inspector, ...]  # ascending inspector_id
    exclusions: tuple[Exclusion, ...]  # ascending line bytes
    plan: Plan


# -- parsing -------------------------------------------------------------------------------


_BLOCK = 1 << 24  # characters of TSV checked and split at a time


def _check_grammar(file: str, data: bytes, field_res: tuple[str, ...]) -> str:
    """The file as text, after checking encoding, LF endings and the field grammar."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        # Every field grammar is ASCII, so any other byte (a BOM included) is an error.
        line = data.count(b"\n", 0, exc.start) + 1
        message = "non-ASCII byte (a BOM or a character outside the grammar)"
        raise BundleError(file, message, line) from None
    record = "\t".join(f"(?:{r})" for r in field_res)
    # One regex pass per block of lines is far faster than one per line (and, unlike one pass
    # over the whole file, its memory does not grow with the file); only on failure do we
    # look for the line to blame.
    lines = re.compile(f"(?:{record}\n)*")
    for start, end in _blocks(text):
        if lines.fullmatch(text, start, end) is None:
            _blame(file, text, record, field_res)
    return text


def _blocks(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of consecutive blocks of whole lines, about _BLOCK characters each."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + _BLOCK)
        end = len(text) if end < 0 else end + 1
        yield start, end
        start = end


def _columns(
    file: str, data: bytes, field_res: tuple[str, ...], repeated: tuple[int, ...] = ()
) -> list[tuple[str, ...]]:
    """Split a TSV file into one tuple per field, enforcing encoding, LF endings and the field
    grammar. Column-wise because it is several times faster than a list per line.

    Columns in `repeated` hold few distinct values (regions, departments, reasons, the
    inspectors of exclusions): their strings are interned, one object per distinct value,
    which saves hundreds of megabytes on a registry of ten million."""
    if not data:
        return [() for _ in field_res]
    text = _check_grammar(file, data, field_res)
    # The grammar holds, so every line has exactly len(field_res) fields and no stray TAB/LF.
    # Split a block of lines at a time: only one block's strings exist before interning.
    width = len(field_res)
    columns: list[list[str]] = [[] for _ in field_res]
    for start, end in _blocks(text):
        flat = text[start : end - 1].replace("\n", "\t").split("\t")
        for n, column in enumerate(columns):
            values = flat[n::width]
            column.extend(map(sys.intern, values) if n in repeated else values)
    return [tuple(column) for column in columns]


def _blame(file: str, text: str, record: str, field_res: tuple[str, ...]) -> NoReturn:
    """Raise for the first line that breaks the grammar (the last piece always raises)."""
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        if number == len(lines):
            raise BundleError(file, "the last line does not end in LF", number)
        if line.endswith("\r"):
            raise BundleError(file, "CRLF line ending (lines must end in LF only)", number)
        if re.fullmatch(record, line) is None:
            fields = line.split("\t")
            if len(fields) != len(field_res):
                message = f"{len(fields)} fields, expected {len(field_res)} separated by TAB"
                raise BundleError(file, message, number)
            bad = next(
                n
                for n, (f, r) in enumerate(zip(fields, field_res, strict=True))
                if re.fullmatch(r, f) is None
            )
            message = f"field {bad + 1} {fields[bad]!r} does not match {field_res[bad]}"
            raise BundleError(file, message, number)


def _check_sorted(file: str, keys: Sequence[Any], what: str) -> None:
    """Keys strictly ascending: the lines are sorted by their bytes and unique.

    ASCII str order is byte order, and TAB sorts below every character the grammar allows, so
    comparing the first field (or the tuple of fields) orders lines exactly as their bytes do.
    """
    if all(map(operator.lt, keys, keys[1:])):  # the usual case, at C speed
        return
    for number, (a, b) in enumerate(zip(keys, keys[1:], strict=False), 2):
        if a >= b:
            problem = f"duplicate {what} {b!r}" if a == b else "lines are not sorted by their bytes"
            raise BundleError(file, problem, number)


def parse_entities(data: bytes) -> EntityTable:
    """entities.tsv → EntityTable, ascending entity_id, each entity_id once."""
    ids, strata, regions = _columns(ENTITIES, data, (ID, CODE, CODE), repeated=(1, 2))
    _check_sorted(ENTITIES, ids, "entity_id")
    return EntityTable(ids, strata, regions)


def parse_inspectors(data: bytes) -> tuple[Inspector, ...]:
    """inspectors.tsv → inspectors in ascending inspector_id order; cap is an int ≥ 0."""
    ids, depts, regions, caps = _columns(INSPECTORS, data, (ID, CODE, CODE, CAP), repeated=(1, 2))
    _check_sorted(INSPECTORS, ids, "inspector_id")
    return tuple(map(Inspector, ids, depts, regions, map(int, caps)))


def parse_exclusions(data: bytes) -> tuple[Exclusion, ...]:
    """exclusions.tsv → exclusions in line order. Entities and inspectors need not exist."""
    rows = tuple(
        map(
            Exclusion._make,
            zip(*_columns(EXCLUSIONS, data, (ID, ID, CODE), repeated=(1, 2)), strict=True),
        )
    )
    _check_sorted(EXCLUSIONS, rows, "line")
    return rows


def canonical_json(obj: Any) -> bytes:
    """The canonical JSON bytes of SRDP-1 §2.3 (sorted keys, no spaces, ASCII, no newline)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _check_json_types(obj: Any, path: str) -> None:
    if isinstance(obj, dict):
        for key, value in obj.items():
            _check_json_types(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            _check_json_types(value, f"{path}[{index}]")
    elif isinstance(obj, bool) or not isinstance(obj, (str, int)):
        raise BundleError(PLAN, f"{path}: only objects, arrays, strings and integers are allowed")


def _plan_error(message: str) -> BundleError:
    return BundleError(PLAN, message)


def _int(entry: dict, key: str, where: str, minimum: int = 0) -> int | None:
    value = entry.get(key)
    if value is not None and (not isinstance(value, int) or value < minimum):
        raise _plan_error(f"{where}.{key} must be an integer ≥ {minimum}")
    return value


def _choice(obj: dict, key: str, allowed: tuple[str, ...]) -> str:
    if obj[key] not in allowed:
        raise _plan_error(f"{key} must be one of {', '.join(allowed)}, not {obj[key]!r}")
    return obj[key]


def _stratum_rule(code: str, entry: Any) -> StratumRule:
    where = f"strata.{code}"
    if CODE_RE.fullmatch(code) is None:
        raise _plan_error(f"stratum code {code!r} does not match {CODE}")
    if not isinstance(entry, dict):
        raise _plan_error(f"{where} must be an object")
    unknown = set(entry) - {"ratio", "count", "k_min", "k_max"}
    if unknown:
        raise _plan_error(f"{where}: unknown keys {sorted(unknown)}")
    if ("ratio" in entry) == ("count" in entry):
        raise _plan_error(f"{where} needs exactly one of ratio and count")
    ratio = entry.get("ratio")
    if ratio is not None and (
        not isinstance(ratio, str) or RATIO_RE.fullmatch(ratio) is None or Fraction(ratio) > 1
    ):
        raise _plan_error(f'{where}.ratio must be a decimal string between 0 and 1, like "0.05"')
    return StratumRule(
        code,
        ratio=ratio,
        count=_int(entry, "count", where),
        k_min=_int(entry, "k_min", where),
        k_max=_int(entry, "k_max", where),
    )


def _randomness_source(index: int, entry: Any) -> RandomnessSource:
    where = f"randomness[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("label"), str):
        raise _plan_error(f"{where} must be an object with a label and a kind")
    label = entry["label"]
    if CODE_RE.fullmatch(label) is None:
        raise _plan_error(f"{where}.label {label!r} does not match {CODE}")
    kind = entry.get("kind")
    if kind not in KINDS:
        raise _plan_error(f"{where}.kind must be one of {', '.join(KINDS)}")
    min_len = _int(entry, "min_len", where, MIN_DIGITS)
    if (kind == "digits") != (min_len is not None):
        raise _plan_error(f"{where}: min_len (≥ {MIN_DIGITS}) is required for digits, only there")
    commitment = entry.get("sha256")
    if commitment is not None and re.fullmatch("[0-9a-f]{64}", str(commitment)) is None:
        raise _plan_error(f"{where}.sha256 must be 64 lowercase hex characters")
    extra = tuple(sorted((k, v) for k, v in entry.items() if k not in ("label", "kind", "min_len")))
    return RandomnessSource(label, kind, min_len, extra)


PLAN_KEYS = {
    "spec",
    "plan_id",
    "strata",
    "rounding",
    "slots",
    "region_rule",
    "selection",
    "randomness",
}


def parse_plan(data: bytes) -> Plan:
    """plan.json → Plan. The bytes must already be canonical JSON; no key may be missing."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _plan_error(f"not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise _plan_error("must be a JSON object")
    _check_json_types(obj, "plan")
    if canonical_json(obj) != data:
        raise _plan_error("not canonical JSON (sorted keys, no spaces, ASCII only, no newline)")
    if set(obj) != PLAN_KEYS:
        missing, unknown = sorted(PLAN_KEYS - set(obj)), sorted(set(obj) - PLAN_KEYS)
        raise _plan_error(f"missing keys {missing}, unknown keys {unknown}")
    if obj["spec"] != SPEC:
        raise _plan_error(f"spec must be {SPEC!r}")
    if not isinstance(obj["plan_id"], str) or PLAN_ID_RE.fullmatch(obj["plan_id"]) is None:
        raise _plan_error("plan_id must match [A-Za-z0-9_.-]{1,64}")
    if not isinstance(obj["strata"], dict):
        raise _plan_error("strata must be an object")
    slots = obj["slots"]
    if not isinstance(slots, list) or len(slots) < 2:
        raise _plan_error("slots must be an array of at least two (行政处罚法 art. 42)")
    if not all(isinstance(s, str) for s in slots) or not (
        all(s == ANY_DEPT for s in slots) or all(CODE_RE.fullmatch(s) for s in slots)
    ):
        raise _plan_error('slots must be all "*" or all department codes')
    sources = obj["randomness"]
    if not isinstance(sources, list) or not sources:
        raise _plan_error("randomness must be a non-empty array")
    randomness = tuple(_randomness_source(i, entry) for i, entry in enumerate(sources))
    labels = [source.label for source in randomness]
    if len(set(labels)) != len(labels):
        raise _plan_error("randomness labels must be unique")
    return Plan(
        plan_id=obj["plan_id"],
        strata=tuple(_stratum_rule(code, obj["strata"][code]) for code in sorted(obj["strata"])),
        rounding=_choice(obj, "rounding", ROUNDINGS),
        slots=tuple(slots),
        region_rule=_choice(obj, "region_rule", REGION_RULES),
        selection=_choice(obj, "selection", SELECTIONS),
        randomness=randomness,
    )


def parse_bundle(files: Mapping[str, bytes]) -> Bundle:
    """The four files (by name; other names are ignored) → Bundle, checked across files."""
    missing = [name for name in FILES if name not in files]
    if missing:
        raise BundleError(missing[0], "missing from the bundle")
    bundle = Bundle(
        entities=parse_entities(files[ENTITIES]),
        inspectors=parse_inspectors(files[INSPECTORS]),
        exclusions=parse_exclusions(files[EXCLUSIONS]),
        plan=parse_plan(files[PLAN]),
    )
    _check_strata(bundle.entities.strata, bundle.plan)
    return bundle


def _check_strata(strata: Iterable[str], plan: Plan) -> None:
    unknown = sorted(set(strata) - {rule.code for rule in plan.strata})
    if unknown:
        raise BundleError(ENTITIES, f"strata {unknown} are not in plan.json")


# -- building ------------------------------------------------------------------------------


def _canonical(parse: Any, lines: Iterable[str]) -> bytes:
    """Sorted lines as file bytes, validated by parsing them back (grammar, uniqueness), so
    building and parsing cannot disagree; a bad record is reported with its value."""
    data = "".join(line + "\n" for line in sorted(lines)).encode("utf-8")
    parse(data)
    return data


FIELDS_OF = {
    ENTITIES: (ID, CODE, CODE),
    INSPECTORS: (ID, CODE, CODE, CAP),
    EXCLUSIONS: (ID, ID, CODE),
}


def tsv_from_lines(file: str, lines: list[str]) -> bytes:
    """A TSV file from lines (without LF) that are already unique, sorted and canonical for
    their own reasons (e.g. a database's unique key): checks the grammar, order and
    uniqueness in bulk, without building a record per line. Sorts `lines` in place."""
    lines.sort()
    data = "".join(line + "\n" for line in lines).encode("ascii", errors="replace")
    if data:
        _check_grammar(file, data, FIELDS_OF[file])
    for number, (a, b) in enumerate(zip(lines, lines[1:], strict=False), 2):
        if a == b:
            raise BundleError(file, f"duplicate line {b!r}", number)
    return data


def entities_tsv(entities: Iterable[Entity]) -> bytes:
    """Canonical entities.tsv from records in any order; a repeated entity_id is an error."""
    return _canonical(parse_entities, (f"{e.entity_id}\t{e.stratum}\t{e.region}" for e in entities))


def inspectors_tsv(inspectors: Iterable[Inspector]) -> bytes:
    """Canonical inspectors.tsv from records in any order; a repeated inspector_id is an error."""
    lines = (f"{i.inspector_id}\t{i.dept}\t{i.region}\t{i.cap}" for i in inspectors)
    return _canonical(parse_inspectors, lines)


def exclusions_tsv(exclusions: Iterable[Exclusion]) -> bytes:
    """Canonical exclusions.tsv. Identical records collapse into one line (the same 回避 may be
    found by two sources); the same pair with two reasons keeps both lines."""
    lines = {f"{x.entity_id}\t{x.inspector_id}\t{x.reason}" for x in exclusions}
    return _canonical(parse_exclusions, lines)


def plan_json(plan: Plan) -> bytes:
    """Canonical plan.json; parsed back, it must give the same plan (checked here)."""
    data = canonical_json(plan.to_json())
    if parse_plan(data) != plan:
        raise _plan_error("the plan does not survive a round trip through plan.json")
    return data


def build_bundle(
    entities: Iterable[Entity],
    inspectors: Iterable[Inspector],
    exclusions: Iterable[Exclusion],
    plan: Plan,
) -> dict[str, bytes]:
    """The four canonical files of a bundle, by name, from records in any order."""
    entity_rows = list(entities)
    _check_strata((e.stratum for e in entity_rows), plan)
    return {
        ENTITIES: entities_tsv(entity_rows),
        EXCLUSIONS: exclusions_tsv(exclusions),
        INSPECTORS: inspectors_tsv(inspectors),
        PLAN: plan_json(plan),
    }


# -- commitment ----------------------------------------------------------------------------


def sha256sums(files: Mapping[str, bytes]) -> str:
    """SHA256SUMS: what coreutils `sha256sum` prints for the four files, sorted by name."""
    return "".join(f"{hashlib.sha256(files[name]).hexdigest()}  {name}\n" for name in FILES)


def snapshot(sums: str) -> str:
    """The snapshot digest hex(SHA256(SHA256SUMS text)), the draw's public commitment."""
    return hashlib.sha256(sums.encode("ascii")).hexdigest()
