"""The Alembic migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from postroom.db.base import Base
from postroom.db.migrate import current_revision, include_in_autogenerate, upgrade
from postroom.services.runtime import Runtime


def test_migrations_match_models(runtime: Runtime) -> None:
    with runtime.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_in_autogenerate}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrade_is_idempotent_and_at_head(runtime: Runtime) -> None:
    upgrade(runtime.engine)
    assert current_revision(runtime.engine) == "0011"
    tables = set(inspect(runtime.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
