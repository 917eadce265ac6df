"""Run the Alembic migrations bundled in the package (used by `postroom db upgrade` and `serve`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


# Created by raw DDL in migration 0006 and not mapped: the FTS5 table (and its shadow tables)
# on SQLite, the generated tsvector column and its index on PostgreSQL.
_UNMAPPED_SEARCH_OBJECTS = ("mail_search", "search_vector", "ix_mail_texts_search_vector")


def include_in_autogenerate(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's include_object hook: leave the search index's raw DDL out of comparisons."""
    return not (reflected and name is not None and name.startswith(_UNMAPPED_SEARCH_OBJECTS))
