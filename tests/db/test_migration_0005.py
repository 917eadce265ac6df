"""Migration 0005 moves each message's MIME into outbox_bodies and loses nothing on the way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Engine, MetaData, Table, func, insert, inspect, select

from postroom.db.base import Base, utcnow
from postroom.db.engine import make_engine
from postroom.db.migrate import alembic_config, upgrade

MIME = b"Subject: Faktura\r\n\r\n" + bytes(range(256)) * 80


def _filler(column: Any, number: int) -> Any:
    # Enum columns reflect as VARCHAR; the model's column knows the allowed values.
    model = Base.metadata.tables[column.table.name].c.get(column.name)
    enums = getattr(model.type, "enums", None) if model is not None else None
    if enums:
        return enums[0]
    python_type = column.type.python_type
    if python_type is bool:
        return False
    if python_type is int:
        return number
    if python_type is bytes:
        return MIME
    if python_type.__name__ == "datetime":
        return utcnow()
    if python_type is dict:
        return {}
    return f"{column.name}-{number}"


def _add(engine: Engine, table: Table, number: int, **given: Any) -> None:
    row = dict(given)
    for column in table.columns:
        needed = not column.nullable and column.server_default is None
        if column.name not in row and needed and not column.primary_key:
            row[column.name] = _filler(column, number)
    with engine.begin() as connection:
        connection.execute(insert(table).values(row))


def _seed_at_0004(engine: Engine) -> None:
    upgrade(engine, "0004")
    meta = MetaData()
    meta.reflect(engine)
    tables = meta.tables
    _add(engine, tables["companies"], 1, id=1)
    for number in (1, 2):
        _add(engine, tables["outbox_messages"], number, id=number, company_id=1)
        _add(engine, tables["outbox_recipients"], number, message_id=number, company_id=1)


def test_upgrade_copies_the_mime_and_keeps_recipients(tmp_path: Path) -> None:
    # The engine's own pragmas (foreign_keys=ON): a table rebuild would cascade-delete children.
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        _seed_at_0004(engine)
        upgrade(engine)
        meta = MetaData()
        meta.reflect(engine)
        bodies, recipients = meta.tables["outbox_bodies"], meta.tables["outbox_recipients"]
        with engine.connect() as connection:
            copied = connection.execute(select(bodies.c.message_id, bodies.c.mime)).all()
            kept = connection.scalar(select(func.count()).select_from(recipients))
        assert sorted((m, bytes(b)) for m, b in copied) == [(1, MIME), (2, MIME)]
        assert kept == 2
        columns = {c["name"] for c in inspect(engine).get_columns("outbox_messages")}
        assert "mime" not in columns

        command.downgrade(alembic_config(engine), "0004")
        messages = Table("outbox_messages", MetaData(), autoload_with=engine)
        with engine.connect() as connection:
            restored = connection.execute(select(messages.c.mime)).scalars().all()
        assert [bytes(b) for b in restored] == [MIME, MIME]
    finally:
        engine.dispose()
