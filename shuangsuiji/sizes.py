"""Every size limit of the request edge in one place: ids, pages, free text and lists.

The database's integer columns are PostgreSQL `integer` (32-bit): an id beyond INT_MAX names
nothing, so routes answer 404 before any query. Free-text and list limits keep one request from
building a 40 MB page or a query beyond PostgreSQL's 65,535 bind parameters.
"""

from __future__ import annotations

INT_MAX = 2**31 - 1  # the largest value of an integer column (PostgreSQL `integer`)
MAX_PAGE = 1_000_000  # the largest page number a list accepts
MAX_LIMIT = 200  # the largest page a cursor-paged API list answers (`limit`)
MAX_CURSOR = 1000  # characters of an opaque paging cursor

# Free text (characters).
SHORT_TEXT = 200  # names, titles, labels, sources, search terms, filters
NOTE_TEXT = 2000  # notes, reasons, comments
LONG_TEXT = 4000  # a registry cell (a matter's legal basis or content; columns.py is stricter)
CODE_TEXT = 64  # codes and enumerated values (a plan code, a rounding rule, a decision)
# Lists (entries).
MAX_MATTERS = 500  # matters of one plan
MAX_SLOTS = 20  # inspectors per team
MAX_SCOPE_ITEMS = 200  # values of one scope filter (types, prefixes, tags, statuses)
MAX_QUALIFICATIONS = 50  # required qualifications of a plan
MAX_RANDOMNESS = 10  # randomness sources of a plan or a draw
MAX_WITNESSES = 20  # witnesses of a dice throw
MAX_CODES = 100  # result codes, methods or measures of one matter's result
MAX_RESULT_MATTERS = MAX_MATTERS  # matters in one result


def human_bytes(size: int) -> str:
    """`size` for a person: 300 MiB is "300 MB", 1 KiB "1 KB" (as the limits are stated)."""
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} 字节"


def is_id(value: object) -> bool:
    """Whether `value` (text or int) is a whole number an integer column can hold."""
    text = str(value).strip()
    return text.isascii() and text.isdigit() and int(text) <= INT_MAX
