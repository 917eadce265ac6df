"""Alembic environment: the engine comes from the caller (config.attributes["engine"])."""

from __future__ import annotations

from alembic import context

from postroom.db import models, models_outbox  # noqa: F401  (register the tables on Base.metadata)
from postroom.db.base import Base
from postroom.db.migrate import include_in_autogenerate

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_in_autogenerate,
    )
    context.run_migrations()
