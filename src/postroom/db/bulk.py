"""Many rows into one table through the driver's own cursor: the hot path of a first sync.

SQLAlchemy's bulk INSERT costs more Python per row than the database spends storing it (a
profile of a 10,000-message first sync: ~470 of ~2,200 busy samples were its parameter
processing, all under the GIL the download shares). Here each column's bind processor is
looked up once per table and dialect, the rows become tuples, and the driver does the rest:
`executemany` on SQLite, `COPY … FROM STDIN` on PostgreSQL. The values are converted exactly
as the ORM converts them (the same processors), so the rows read back the same.

No ORM events run: the caller answers for the company of every row (see tenancy.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import JSON, Connection, Dialect, Table

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    statement: str
    processors: tuple[Processor, ...]


_PLANS: dict[tuple[str, str, tuple[str, ...]], _Plan] = {}


def _processor(dialect: Dialect, table: Table, name: str) -> Processor:
    column_type = table.c[name].type
    if dialect.name == "postgresql" and isinstance(column_type, JSON):
        # COPY's text format takes a JSON column as its text.
        return _json_text
    processor = column_type.dialect_impl(dialect).bind_processor(dialect)
    if processor is not None and isinstance(column_type, JSON):
        return partial(_json_or_empty, processor)  # most lists of a message are empty
    return processor


def _json_or_empty(processor: Callable[[Any], Any], value: Any) -> Any:
    return "[]" if value == [] else processor(value)


def _json_text(value: Any) -> str:
    # None is JSON's null, as SQLAlchemy's JSON type writes it (none_as_null is off).
    return "[]" if value == [] else json.dumps(value)


def _plan(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> _Plan:
    key = (dialect.name, table.name, columns)
    found = _PLANS.get(key)
    if found is not None:
        return found
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    if dialect.name == "postgresql":
        statement = f"COPY {quote(table.name)} ({names}) FROM STDIN"
    else:
        marks = ", ".join("?" for _ in columns)
        # Names are the table's own columns (table.c[name] below raises for any other), quoted.
        statement = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
    processors = tuple(_processor(dialect, table, name) for name in columns)
    found = _PLANS[key] = _Plan(statement, processors)
    return found


def _tuples(
    plan: _Plan, columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    pairs = list(zip(columns, plan.processors, strict=True))
    return [
        tuple(row[name] if process is None else process(row[name]) for name, process in pairs)
        for row in rows
    ]


def insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys; columns not named get their database default)
    in the caller's transaction."""
    if not rows:
        return
    columns = tuple(rows[0])
    plan = _plan(conn.dialect, table, columns)
    values = _tuples(plan, columns, rows)
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(plan.statement) as copy:  # type: ignore[union-attr]
            for row in values:
                copy.write_row(row)
        return
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(plan.statement, values)
    finally:
        cursor.close()
