"""Credit rules (信用规则): which published result codes create which credit events.

The rule table is configuration (config/default.py `CREDIT_RULES`, the 信用 table below as
the default); `parse_rules` checks it at start-up and `matching` applies it. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The result codes (result_codes.py, 检查结果), and "*" for every published result.
RESULT_CODES = (
    "1", "A", "2", "B", "C", "6", "D", "3", "4", "5", "E", "F", "7", "8", "9", "10", "11", "12",
)  # fmt: skip
ANY = "*"
_EVENT = re.compile(r"[a-z][a-z0-9_]{0,39}")
_KEYS = {"code", "event", "listing", "listing_workdays", "order_days"}

# The default 信用 table: 6 and C → listing within 10 working days of verification; B → an
# order to publish within 10 days, then listing; 8 → published as such, listing under
# provincial rules only (off); 1, E, F, 7, 9–12 → no listing. Every published result also
# makes an "inspection_result" event, so that the credit platform sees clean results too.
DEFAULT_RULES = (
    {"code": "*", "event": "inspection_result"},
    {"code": "6", "event": "unreachable", "listing": True, "listing_workdays": 10},
    {"code": "C", "event": "false_information", "listing": True, "listing_workdays": 10},
    {
        "code": "B",
        "event": "information_not_published",
        "listing": True,
        "order_days": 10,
        "listing_workdays": 10,
    },
    {"code": "8", "event": "refused_inspection"},
)


class RuleError(ValueError):
    """The rule table is not usable; the message names the rule and the problem."""


@dataclass(frozen=True)
class CreditRule:
    """One rule: a result `code` (or "*") creates an `event`; with `listing`, also a
    经营异常名录 candidate to decide within `listing_workdays` working days of verification,
    or of the end of an order to correct first lasting `order_days` calendar days."""

    code: str
    event: str
    listing: bool = False
    listing_workdays: int = 10
    order_days: int | None = None

    @property
    def key(self) -> str:
        """What makes an event unique per result: "6:unreachable"."""
        return f"{self.code}:{self.event}"


def _integer(value, where: str, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RuleError(f"{where}: {name} must be an integer ≥ {minimum}, got {value!r}")
    return value


def parse_rules(table) -> tuple[CreditRule, ...]:
    """The rules of a table (a list of dicts, or its JSON text; empty: DEFAULT_RULES);
    RuleError names the first problem: an unknown key or code, a bad event name, a negative
    or non-integer deadline, a deadline on a rule that lists nothing, or the same (code,
    event) twice."""
    if table in ("", None):
        table = DEFAULT_RULES
    if isinstance(table, str):
        try:
            table = json.loads(table)
        except ValueError as exc:
            raise RuleError(f"CREDIT_RULES is not valid JSON: {exc}") from None
    if not isinstance(table, list | tuple):
        raise RuleError("CREDIT_RULES must be a list of rules")
    rules: list[CreditRule] = []
    for i, raw in enumerate(table):
        where = f"CREDIT_RULES[{i}]"
        if not isinstance(raw, dict):
            raise RuleError(f"{where}: a rule is a mapping with code and event")
        unknown = set(raw) - _KEYS
        if unknown:
            raise RuleError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        code, event = raw.get("code"), raw.get("event")
        if code != ANY and code not in RESULT_CODES:
            raise RuleError(f"{where}: unknown result code {code!r}")
        if not isinstance(event, str) or not _EVENT.fullmatch(event):
            raise RuleError(f"{where}: event must match [a-z][a-z0-9_]*, got {event!r}")
        listing = raw.get("listing", False)
        if not isinstance(listing, bool):
            raise RuleError(f"{where}: listing must be true or false")
        if not listing and ("listing_workdays" in raw or "order_days" in raw):
            raise RuleError(f"{where}: listing_workdays/order_days need listing: true")
        workdays = _integer(raw.get("listing_workdays", 10), where, "listing_workdays", minimum=0)
        order = raw.get("order_days")
        if order is not None:
            order = _integer(order, where, "order_days", minimum=1)
        rules.append(CreditRule(code, event, listing, workdays, order))
    keys = [r.key for r in rules]
    duplicate = next((k for k in keys if keys.count(k) > 1), None)
    if duplicate:
        raise RuleError(f"CREDIT_RULES: the rule {duplicate} appears twice")
    return tuple(rules)


def matching(rules: Sequence[CreditRule], codes: Iterable[str]) -> list[CreditRule]:
    """The rules that the result codes trigger, in the table's order."""
    present = set(codes)
    return [r for r in rules if r.code == ANY or r.code in present]
