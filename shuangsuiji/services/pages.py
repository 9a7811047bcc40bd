"""Pagination of a select() for list pages and list endpoints."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import TypeDecorator

from ..errors import Invalid


@dataclass
class Page:
    """A numbered page of a bounded list (one draw's teams, found by position, not OFFSET)."""

    items: list
    total: int
    page: int
    per_page: int
    capped: bool = False  # the total is a lower bound: counting stopped there

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def count_capped(session: Session, query: Select, cap: int) -> tuple[int, bool]:
    """How many rows `query` matches, counting no further than `cap`: (count, True) when there
    are more. On a registry of millions an exact count of a common name fragment costs a full
    scan; a capped one stops after `cap` matches."""
    counted = query.order_by(None).limit(cap + 1)
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    return min(total, cap), total > cap


# -- keyset (cursor) paging ------------------------------------------------------------------
#
# A list that grows with the years is paged by the values of its ordering, never by OFFSET:
# the next page is "the rows after the last one shown", which an index finds at once however
# deep the page. The cursor is opaque to clients (base64url of the last row's sort values and
# the names of the keys they belong to); a cursor that does not decode, or belongs to another
# ordering, is a 422.

Order = Sequence[tuple[InstrumentedAttribute, bool]]  # (column, descending); the last is unique


@dataclass
class Keyset:
    items: list
    next: str | None  # the cursor of the next page; None on the last page
    limit: int


def _encode_value(value):
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if value is None or isinstance(value, (int, str)):
        return value
    raise TypeError(f"cannot page by a {type(value).__name__}")


def _decode_value(raw):
    if isinstance(raw, dict) and len(raw) == 1:
        ((tag, text),) = raw.items()
        if tag == "t" and isinstance(text, str):
            return dt.datetime.fromisoformat(text)
        if tag == "d" and isinstance(text, str):
            return dt.date.fromisoformat(text)
        raise ValueError(tag)
    if isinstance(raw, bool) or not (raw is None or isinstance(raw, (int, str))):
        raise ValueError(raw)
    return raw


def _names(order: Order) -> list[str]:
    return [("-" if desc else "") + column.key for column, desc in order]


def _python_type(column: InstrumentedAttribute) -> type:
    kind = column.type
    return (kind.impl_instance if isinstance(kind, TypeDecorator) else kind).python_type


def encode_cursor(order: Order, values: Sequence) -> str:
    document = {"k": _names(order), "v": [_encode_value(v) for v in values]}
    raw = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(order: Order, cursor: str) -> list:
    """The sort values `cursor` carries; Invalid (422) when it is not one of `order`'s."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        document = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if document["k"] != _names(order) or len(document["v"]) != len(order):
            raise ValueError("another ordering")
        values = [_decode_value(v) for v in document["v"]]
        for (column, _desc), value in zip(order, values, strict=True):
            if type(value) is not _python_type(column):  # a forged cursor: never a 500
                raise ValueError(column.key)
        return values
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error) as exc:
        message = "无效的分页游标，请从第一页重新开始"
        raise Invalid("分页游标无效", errors={"cursor": [message]}) from exc


def after(order: Order, values: Sequence):
    """The rows that come after `values` in `order`: (a > x) or (a = x and b > y) ..., each
    comparison in its column's direction (the sort columns are NOT NULL)."""
    clauses = []
    for i, (column, descending) in enumerate(order):
        equal = [c == v for (c, _d), v in zip(order[:i], values[:i], strict=True)]
        beyond = column < values[i] if descending else column > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def keyset(
    session: Session,
    query: Select,
    order: Order,
    *,
    cursor: str | None,
    limit: int,
    key: Callable | None = None,
) -> Keyset:
    """One page of `query` in `order`, after `cursor`. `key(item)` gives an item's sort values
    (default: the ordering columns' attributes of the item)."""
    if cursor:
        query = query.where(after(order, decode_cursor(order, cursor)))
    ordered = query.order_by(None).order_by(*(c.desc() if desc else c.asc() for c, desc in order))
    rows = list(session.scalars(ordered.limit(limit + 1)))
    items, more = rows[:limit], len(rows) > limit
    if not more:
        return Keyset(items=items, next=None, limit=limit)
    last = items[-1]
    values = key(last) if key else [getattr(last, column.key) for column, _desc in order]
    return Keyset(items=items, next=encode_cursor(order, values), limit=limit)
