"""Typed views of the JSON text columns: what a plan's settings, a commitment's and a draw's
summary, a draw's randomness and a task's parameters hold, as frozen dataclasses and typed
dicts. The models expose them as properties (`Draw.summary_doc`, `Plan.slot_codes`, …); code
outside the models reads those, never `json.loads` of a column. The JSON text stays the
storage format (and what the API returns: `as_dict`).

Readers accept what older rows hold: a key added later has a default.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict


def decode(text: str | bytes | None, empty: Any = None) -> Any:
    """The JSON value of a column (`empty` when the column is NULL or blank)."""
    if text is None or text in ("", b""):
        return empty
    return json.loads(text)


def _counts(value: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in (value or {}).items()}


# -- a plan's settings (typed dicts: the forms and the API take them as they are) -----------


class ScopeFilters(TypedDict, total=False):
    """定向 filters of a plan: each a list of values or code prefixes."""

    entity_types: list[str]
    industry_prefixes: list[str]
    region_prefixes: list[str]
    tags: list[str]
    statuses: list[str]


class StratumRule(TypedDict):
    ratio: NotRequired[str]
    count: NotRequired[int]
    k_min: NotRequired[int]
    k_max: NotRequired[int]


class RandomnessSpec(TypedDict):
    """One randomness source of a plan: digits (dice), text (a published value) or server."""

    label: str
    kind: str
    min_len: NotRequired[int]
    source: NotRequired[str]


# -- a draw ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StratumResult:
    """One class of a draw: N entities, k drawn, the ticket of the last one drawn."""

    code: str
    N: int  # noqa: N815 (SRDP-1's name)
    k: int
    threshold_ticket: str | None = None


@dataclass(frozen=True)
class DrawSummary:
    """A draw's counts (draws.summary)."""

    strata: tuple[StratumResult, ...]
    drawn: int  # not-a-state: how many entities were drawn
    slots: int
    unstaffed: int = 0
    phase2: int = 0

    @property
    def eligible(self) -> int:
        return sum(s.N for s in self.strata)

    @classmethod
    def parse(cls, text: str) -> DrawSummary:
        data = json.loads(text)
        names = {f.name for f in dataclasses.fields(cls)} - {"strata"}
        return cls(
            strata=tuple(StratumResult(**s) for s in data.get("strata", [])),
            **{k: int(v) for k, v in data.items() if k in names},
        )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"strata": [dataclasses.asdict(s) for s in self.strata]}


@dataclass(frozen=True)
class RandomnessEntry:
    """One randomness value of a draw as its manifest records it (draws.randomness)."""

    label: str
    kind: str
    value: str
    provenance: Mapping[str, Any] = field(default_factory=dict)  # witnesses, source, sha256…

    @property
    def witnesses(self) -> list[str]:
        return list(self.provenance.get("witnesses") or [])

    @property
    def source(self) -> str | None:
        return self.provenance.get("source")

    @property
    def sha256(self) -> str | None:
        return self.provenance.get("sha256")

    @classmethod
    def parse_list(cls, text: str) -> list[RandomnessEntry]:
        core = ("label", "kind", "value")
        entries = json.loads(text)
        return [
            cls(e["label"], e.get("kind", ""), e["value"], {k: e[k] for k in e if k not in core})
            for e in entries
        ]

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "kind": self.kind, "value": self.value, **self.provenance}


# -- a commitment ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StratumCount:
    """One class of a commitment: N entities eligible, k to draw."""

    N: int  # noqa: N815 (SRDP-1's name)
    k: int


@dataclass(frozen=True)
class BatchFacts:
    """How a recurring plan's batch got its counts (the yearly split) and its chain tip."""

    key: str
    index: int
    remaining: int
    population: dict[str, int]
    year_target: dict[str, int]
    drawn_before: dict[str, int]
    counts: dict[str, int]
    chain_tip: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchFacts:
        return cls(
            key=str(data["key"]),
            index=int(data["index"]),
            remaining=int(data["remaining"]),
            population=_counts(data.get("population")),
            year_target=_counts(data.get("year_target")),
            drawn_before=_counts(data.get("drawn_before")),
            counts=_counts(data.get("counts")),
            chain_tip=data.get("chain_tip"),
        )


@dataclass(frozen=True)
class CommitmentSummary:
    """What a commitment froze, counted (plan_commitments.summary)."""

    eligible: int
    strata: dict[str, StratumCount]
    drawn: int  # not-a-state: how many entities the quotas draw
    inspectors: int
    excluded: dict[str, int] = field(default_factory=dict)
    inspectors_left_out: dict[str, int] = field(default_factory=dict)
    exclusions: dict[str, int] = field(default_factory=dict)
    batch: BatchFacts | None = None

    @classmethod
    def parse(cls, text: str) -> CommitmentSummary:
        data = json.loads(text)
        counts = {"excluded", "inspectors_left_out", "exclusions"}
        plain = {f.name for f in dataclasses.fields(cls)} - counts - {"strata", "batch"}
        return cls(
            strata={code: StratumCount(**q) for code, q in data.get("strata", {}).items()},
            batch=BatchFacts.from_dict(data["batch"]) if data.get("batch") else None,
            **{k: _counts(data.get(k)) for k in counts},
            **{k: int(data[k]) for k in plain},
        )

    def as_dict(self) -> dict[str, Any]:
        """As stored: `batch` only for a batch of a recurring plan."""
        data = dataclasses.asdict(self)
        if self.batch is None:
            del data["batch"]
        return data
