"""What every entry point shares at run time: settings, database, the key ring."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from postroom.config import Settings
from postroom.db.engine import make_engine, make_session_factory
from postroom.db.tenancy import platform_session, scoped_session
from postroom.secrets import SecretBox, load_or_create_key_file, parse_keys


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    secret_box: SecretBox

    @contextmanager
    def tenant(self, company_id: int) -> Iterator[Session]:
        """A transaction confined to one company; commits when the block ends without error."""
        with scoped_session(self.session_factory, company_id) as session:
            yield session

    @contextmanager
    def platform(self) -> Iterator[Session]:
        """A transaction across companies: provisioning, login, token lookup only."""
        with platform_session(self.session_factory) as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()


def load_secret_box(settings: Settings) -> SecretBox:
    if settings.secret_key is not None:
        return SecretBox(parse_keys(settings.secret_key.get_secret_value()))
    return SecretBox(load_or_create_key_file(settings.key_file))


def build_runtime(settings: Settings) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    return Runtime(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        secret_box=load_secret_box(settings),
    )
