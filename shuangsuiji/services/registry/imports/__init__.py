"""Imports of the registry lists: upload → validate (background) → preview → apply (background).

Every data row of a file ends as exactly one of inserted, updated, unchanged or rejected, and
the four counts add up to the rows read (blank rows are counted apart). Valid rows are staged
in a staging table; applying them is one transaction, so a failed or interrupted import leaves
the registry exactly as it was. Rejected rows are stored with row number, column and reason.

jobs: the lists, upload and the batch's states; checking: a file's rows checked and staged;
applying: the staged rows written; indexes: the lists' index DDL around a large import. They
flush only: the task handlers in worker/imports.py own the transactions.
"""

from __future__ import annotations

from .jobs import (
    KINDS,
    LISTS,
    STATUS_LABELS,
    Kind,
    Reading,
    cancel,
    confirm,
    create,
    get,
    kind_of,
    limits_from,
    page_visible,
    rejects,
    rejects_page,
    rejects_table,
)

__all__ = [
    "KINDS",
    "LISTS",
    "STATUS_LABELS",
    "Kind",
    "Reading",
    "cancel",
    "confirm",
    "create",
    "get",
    "kind_of",
    "limits_from",
    "page_visible",
    "rejects",
    "rejects_page",
    "rejects_table",
]
