"""Pagination of a select() for list pages and list endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int
    capped: bool = False  # the total is a lower bound: counting stopped there

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def paginate(
    session: Session, query: Select, *, page: int, per_page: int, count_cap: int | None = None
) -> Page:
    """One page of `query`. With `count_cap`, counting stops after that many matches: on a
    registry of millions an exact count of a common name fragment costs a full scan, while
    the page itself (ordered by id) is found at once."""
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    if len(items) < per_page and (items or page == 1):
        # The last page: the total follows without a second scan of the table.
        total = (page - 1) * per_page + len(items)
        return Page(items=items, total=total, page=page, per_page=per_page)
    counted = query.order_by(None)
    if count_cap is not None:
        counted = counted.limit(count_cap + 1)
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    capped = count_cap is not None and total > count_cap
    return Page(
        items=items,
        total=min(total, count_cap) if capped else total,
        page=page,
        per_page=per_page,
        capped=capped,
    )
