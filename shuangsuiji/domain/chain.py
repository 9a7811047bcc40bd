"""The server-secret hash chain of a recurring plan (SRDP-1 §3.3). Pure: the platform, the
verifier and an auditor's own script compute the same thing.

At activation a secret s_n is drawn at random (n: the batches of the plan year), then
s_j = hex(SHA256(s_{j+1})) for j = n−1 … 1, and the tip hex(SHA256(s_1)) is published. Batch j
reveals s_j as its `server` value; hashing it j times gives the tip. Revealing s_j discloses the
past batches' secrets only; s_{j+1} would need a SHA-256 preimage.

A batch's bundle may carry `chain.json` (`CHAIN_FILE`): the tip as published at activation, the
chain's length, the batch's index and key, and the label of its server source. `problems`
checks a manifest's revealed server value against it; an auditor compares the tip in
`chain.json` with the one the plan published (`/public/plans`), or passes that tip directly.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CHAIN_FILE = "chain.json"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _sha256_hex(text: str) -> str:
    """hex(SHA256(text)): srdp.server_commitment, the hash a commitment publishes."""
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def secret(seed: str, index: int, length: int) -> str:
    """s_index of the chain whose last link s_length is `seed`."""
    if not 1 <= index <= length:
        raise ValueError("index out of the chain")
    value = seed
    for _ in range(length - index):
        value = _sha256_hex(value)
    return value


def tip(seed: str, length: int) -> str:
    """hex(SHA256(s_1)): published at activation."""
    return _sha256_hex(secret(seed, 1, length))


def reaches_tip(revealed: str, index: int, published_tip: str) -> bool:
    """Whether hashing the revealed s_index `index` times gives the published tip."""
    if index < 1 or not revealed.isascii():
        return False
    value = revealed
    for _ in range(index):
        value = _sha256_hex(value)
    return value == published_tip


@dataclass(frozen=True)
class Link:
    """What a batch's bundle says about its place in the chain (chain.json)."""

    tip: str
    length: int
    index: int
    batch_key: str
    label: str

    def as_json(self) -> bytes:
        doc = {
            "spec": "SRDP-1 §3.3",
            "chain_tip": self.tip,
            "length": self.length,
            "index": self.index,
            "batch_key": self.batch_key,
            "label": self.label,
        }
        return (json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


class ChainFileError(ValueError):
    """chain.json is not JSON or lacks a field."""


def parse(data: bytes) -> Link:
    try:
        doc = json.loads(data)
        link = Link(
            str(doc["chain_tip"]),
            int(doc["length"]),
            int(doc["index"]),
            str(doc["batch_key"]),
            str(doc["label"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ChainFileError(f"{CHAIN_FILE}: {exc!r}") from exc
    if not _HEX64.fullmatch(link.tip):
        raise ChainFileError(f"{CHAIN_FILE}: chain_tip is not 64 hex digits")
    if not 1 <= link.index <= link.length:
        raise ChainFileError(f"{CHAIN_FILE}: index {link.index} outside 1…{link.length}")
    return link


def problems(
    link: Link, manifest: Mapping[str, Any], *, published_tip: str | None = None
) -> list[str]:
    """Check the manifest's revealed server value against the chain: hashing it `index` times
    must give the tip. `published_tip` (the one the plan published at activation) must equal
    the tip in chain.json when given. Empty when everything checks out."""
    found = []
    if published_tip is not None and published_tip.strip().lower() != link.tip:
        found.append(
            f"{CHAIN_FILE}: chain_tip {link.tip} is not the published tip {published_tip.strip()}"
        )
    entries = [
        e
        for e in manifest.get("randomness", [])
        if isinstance(e, dict) and e.get("label") == link.label
    ]
    if len(entries) != 1 or entries[0].get("kind") != "server":
        return [*found, f"{CHAIN_FILE}: the manifest has no server value labelled {link.label!r}"]
    revealed = entries[0].get("value")
    if not isinstance(revealed, str) or not reaches_tip(revealed, link.index, link.tip):
        found.append(
            f"randomness.{link.label}: SHA-256 applied {link.index} times to the revealed value "
            f"does not give the chain tip {link.tip}"
        )
    return found
