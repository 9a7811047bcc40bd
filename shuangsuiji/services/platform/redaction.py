"""Personal data in the audit trail: ID numbers, mobile numbers and e-mail addresses.

The trail is append-only and hash-chained: what goes in can never be erased. So a sensitive
field enters an entry as `{"masked": "110105********002X", "hmac": "…"}`: the masked form for
people, and a keyed HMAC-SHA256 (key: AUDIT_HMAC_KEY, else SECRET_KEY) so that "was it the same
number?" can still be answered by whoever holds the key, never the number itself.

Entries written before this existed may hold a number in clear. They cannot be rewritten
without breaking the chain, so they are masked when they are read (the audit page and the API,
which then marks the entry `redacted`); the stored rows stay as they are.
"""

from __future__ import annotations

import hashlib
import hmac
import re

# field name → kind of value (the snapshots use these names).
SENSITIVE = {
    "id_number": "id",
    "mobile": "phone",
    "phone": "phone",
    "email": "email",
    "recipient": "contact",  # an outbox message's: a mobile number, an address or a URL
}
_PHONE = re.compile(r"\+?[0-9][0-9 -]{5,}[0-9]")

_key: bytes | None = None


def install_key(key: str) -> None:
    """The process's HMAC key (the app factory installs it from the configuration)."""
    global _key
    _key = key.encode() if key else None


def _kind(field: str, value: str) -> str | None:
    kind = SENSITIVE.get(field)
    if kind != "contact":
        return kind
    if "@" in value and "://" not in value:
        return "email"
    if _PHONE.fullmatch(value.strip()):
        return "phone"
    return None  # a webhook URL: not personal


def _normal(kind: str, value: str) -> str:
    value = value.strip()
    if kind == "id":
        return value.upper()
    if kind == "email":
        return value.lower()
    if kind == "phone":
        return re.sub(r"[^0-9]", "", value)
    return value


def mask(kind: str, value: str) -> str:
    """110105199001010023 → 110105********0023; 13812345678 → 138****5678;
    zhang.san@example.cn → z***@example.cn."""
    value = _normal(kind, value)
    if kind == "email" and "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    keep_head, keep_tail = (6, 4) if kind == "id" else (3, 4)
    if len(value) <= keep_head + keep_tail:
        keep_head, keep_tail = min(1, len(value) // 4), min(1, len(value) // 4)
    hidden = len(value) - keep_head - keep_tail
    return value[:keep_head] + "*" * hidden + (value[-keep_tail:] if keep_tail else "")


def fingerprint(field: str, value: str) -> str | None:
    """The keyed HMAC of a sensitive value (None without a key): equal values, equal HMACs."""
    kind = _kind(field, value)
    return None if kind is None else _digest(kind, value)


def _digest(kind: str, value: str) -> str | None:
    if _key is None:
        return None
    message = f"{kind}:{_normal(kind, value)}".encode()
    return hmac.new(_key, message, hashlib.sha256).hexdigest()


_ID = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")


def search_fingerprint(value: str) -> str | None:
    """The HMAC under which entries store a value someone looks for (an ID number, a mobile
    number or an e-mail address, told apart by shape); None when it is none of them or no key
    is installed."""
    value = value.strip()
    if "@" in value:
        kind = "email"
    elif _ID.fullmatch(value.upper()):
        kind = "id"
    elif _PHONE.fullmatch(value):
        kind = "phone"
    else:
        return None
    return _digest(kind, value)


def is_protected(value) -> bool:
    return isinstance(value, dict) and set(value) == {"masked", "hmac"}


def protect(value):
    """A snapshot with every sensitive field replaced by its masked form and HMAC (nested
    objects and lists included); what audit.record stores."""
    if isinstance(value, list):
        return [protect(item) for item in value]
    if not isinstance(value, dict) or is_protected(value):
        return value
    out = {}
    for name, item in value.items():
        kind = _kind(name, item) if isinstance(item, str) and item.strip() else None
        if kind is not None:
            out[name] = {"masked": mask(kind, item), "hmac": fingerprint(name, item)}
        else:
            out[name] = protect(item)
    return out


def redact(value) -> tuple[object, bool]:
    """A stored snapshot as it may be shown: a sensitive field still in clear (an entry
    written before masking) is masked; True when anything was."""
    if isinstance(value, list):
        items = [redact(item) for item in value]
        return [v for v, _ in items], any(r for _, r in items)
    if not isinstance(value, dict) or is_protected(value):
        return value, False
    out, redacted = {}, False
    for name, item in value.items():
        kind = _kind(name, item) if isinstance(item, str) and item.strip() else None
        if kind is not None:
            out[name], redacted = mask(kind, item), True
        else:
            out[name], inner = redact(item)
            redacted = redacted or inner
    return out, redacted
