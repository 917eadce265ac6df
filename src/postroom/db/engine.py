"""Engine and session factory: SQLite in WAL mode with foreign keys, or PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        # Several threads (API, worker) share the file; WAL lets readers and one writer overlap.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _begin_before_savepoint)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_before_savepoint(connection: Any, _name: str | None) -> None:
    """Python's sqlite3 driver opens a transaction only at the first INSERT/UPDATE/DELETE, so a
    SAVEPOINT that comes first would itself start the transaction, and its RELEASE commit it for
    good: a later rollback of the whole would not undo it (a row half-written behind a refusal).
    Beginning the transaction first keeps the savepoint inside it. Reads before the first write
    still run outside a transaction, as before, so no snapshot is held that a writer could
    invalidate (SQLITE_BUSY_SNAPSHOT)."""
    driver_connection = connection.connection.dbapi_connection
    if driver_connection is not None and not driver_connection.in_transaction:
        driver_connection.execute("BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def refresh_statistics(engine: Engine) -> None:
    """Let SQLite's planner know the tables' shapes (PostgreSQL's autovacuum does this itself).

    Without statistics SQLite picks the first usable index, e.g. the company index instead of
    (account_id, message_id_header) for thread lookups. `PRAGMA optimize` analyzes only the
    tables whose size changed enough since the last time, so running it hourly is cheap.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA optimize=0x10002")
