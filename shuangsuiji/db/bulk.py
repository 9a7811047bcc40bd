"""Bulk transfer for draws: COPY on PostgreSQL, plain statements elsewhere.

A commitment reads a million registry lines and a draw writes a hundred thousand rows; through
the ORM that is most of the time spent. Lines come back as one aggregated text value and rows
go in by COPY, each in one round trip.
"""

from __future__ import annotations

from sqlalchemy import Connection, Select, func, insert, select

_BATCH = 5000


def fetch_lines(connection: Connection, query: Select) -> list[str]:
    """The rows of `query` (text columns, no NULLs) as TAB-separated lines without LF. The
    values must hold no TAB or LF.

    On PostgreSQL the server joins the lines (string_agg) and sends one value: a row-by-row
    transfer (COPY or a cursor) costs microseconds of Python per row, seconds per million."""
    if connection.dialect.name != "postgresql":
        return ["\t".join(row) for row in connection.execute(query)]
    rows = query.subquery()
    joined = select(func.string_agg(func.concat_ws("\t", *rows.c), "\n"))
    data = connection.execute(joined).scalar()
    return data.split("\n") if data else []


def insert_rows(connection: Connection, table, rows: list[dict]) -> None:
    """Insert many rows (all with the same keys) in the connection's transaction. Values are
    numbers, None, or text without TAB, LF or backslash (COPY's text format, unescaped)."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        for i in range(0, len(rows), _BATCH):
            connection.execute(insert(table), rows[i : i + _BATCH])
        return
    columns = list(rows[0])
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    text = "".join(
        "\t".join("\\N" if row[c] is None else str(row[c]) for c in columns) + "\n" for row in rows
    )
    cursor = connection.connection.driver_connection.cursor()
    with cursor, cursor.copy(statement) as copy:
        copy.write(text.encode("utf-8"))
