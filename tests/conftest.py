"""Shared fixtures: a migrated database per test (SQLite, and PostgreSQL when configured),
companies with users and tokens, an API client; and the run-wide secret leak check."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from postroom.config import Settings
from postroom.db.base import Base
from postroom.db.engine import make_engine
from postroom.db.migrate import upgrade
from postroom.secrets import new_key
from postroom.services.runtime import Runtime, build_runtime
from tests.support import (
    KNOWN_SECRETS,
    RUN_LOG_NAME,
    Tenant,
    find_leaks,
    make_tenant,
)

if TYPE_CHECKING:  # a runtime import would come before pytest_plugins and defeat its rewriting
    from tests.fixtures.mailenv import MailEnv

pytest_plugins = ["tests.fixtures.oauth_server", "tests.fixtures.mailenv"]

PG_URL = os.environ.get("POSTROOM_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def pytest_configure(config: pytest.Config) -> None:
    # Every log record of the whole run goes to one file, which is searched for secrets at the end.
    run_log = Path(config.rootpath) / ".pytest-run" / RUN_LOG_NAME
    run_log.parent.mkdir(exist_ok=True)
    handler = logging.FileHandler(run_log, mode="w", encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s %(args)s")
    )
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    # SQL statements with parameters would make the log huge; stored values are checked in the
    # database files themselves.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    config.stash[_RUN_LOG] = run_log


_RUN_LOG = pytest.StashKey[Path]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a plaintext secret used by any test reached a log or a database file."""
    run_log = session.config.stash.get(_RUN_LOG, None)
    files = [run_log] if run_log else []
    basetemp = getattr(session.config, "_tmp_path_factory", None)
    if basetemp is not None:
        root = basetemp.getbasetemp()
        files += [p for p in root.rglob("*") if p.is_file() and ".db" in p.name]
    leaks = find_leaks(files, KNOWN_SECRETS)
    if leaks:
        session.config.get_terminal_writer().line(
            "SECRET LEAK: plaintext secrets found in " + "; ".join(leaks), red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", params=BACKENDS)
def database_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(backend, url or template path), migrated once per run and backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        yield "sqlite", str(path)
        return
    assert PG_URL is not None
    engine = make_engine(PG_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()
    yield "postgresql", PG_URL


def _clean_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def settings(database_template: tuple[str, str], tmp_path: Path, mailenv: MailEnv) -> Settings:
    """Connection tests may reach the local mail servers: loopback allowed, their CA trusted."""
    backend, source = database_template
    if backend == "sqlite":
        shutil.copyfile(source, tmp_path / "postroom.db")
        url = f"sqlite:///{tmp_path / 'postroom.db'}"
    else:
        _clean_postgres(source)
        url = source
    return Settings(
        data_dir=tmp_path,
        database_url=url,
        secret_key=new_key(),  # type: ignore[arg-type]
        platform_token="platform-token-for-tests-0123456789abcdef",  # type: ignore[arg-type]
        allowed_networks="127.0.0.0/8,::1/128",
        extra_ca_file=mailenv.ca_file,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    from postroom.app import create_app

    with TestClient(create_app(runtime)) as test_client:
        yield test_client


@pytest.fixture
def tenant_factory(runtime: Runtime) -> Callable[..., Tenant]:
    """Make a company with an administrator (known password and API token)."""
    counter = iter(range(1, 1000))

    def make(name: str | None = None) -> Tenant:
        number = next(counter)
        return make_tenant(runtime, name or f"Company {number}", f"c{number}")

    return make


@pytest.fixture
def tenant(tenant_factory: Callable[..., Tenant]) -> Tenant:
    return tenant_factory("Biuro Rachunkowe Alfa")


@pytest.fixture
def other_tenant(tenant_factory: Callable[..., Tenant]) -> Tenant:
    return tenant_factory("Firma Beta")
