"""The `postroom` command: serve, worker, db, company, user, token, secrets."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy import select

from postroom.config import Settings, load_settings
from postroom.db.migrate import upgrade
from postroom.db.models import User
from postroom.db.tenancy import rescope
from postroom.enums import EmailMode, Language, Role
from postroom.errors import PostroomError
from postroom.secrets import new_key, prepend_key_to_file
from postroom.services import companies, rotation, tokens, users
from postroom.services.runtime import Runtime, build_runtime


@contextmanager
def _runtime(migrate: bool = True) -> Iterator[Runtime]:
    """Settings, database and keys for one command; the connections are closed at the end."""
    try:
        settings = load_settings()
    except ValueError as exc:
        raise click.ClickException(f"Invalid configuration: {exc}") from exc
    runtime = build_runtime(settings)
    try:
        if migrate:
            upgrade(runtime.engine)
        yield runtime
    finally:
        runtime.close()


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


class _Commands(click.Group):
    """Service errors end a command with their message (exit 1), never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except PostroomError as exc:
            raise click.ClickException(exc.message) from exc


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="postroom")
def main() -> None:
    """Postroom: mail and client communication for business software.

    Settings come from POSTROOM_* environment variables (see docs/configuration.md).
    """


@main.command()
@click.option("--host", help="Address to listen on (default: POSTROOM_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: POSTROOM_PORT or 8025).")
def serve(host: str | None, port: int | None) -> None:
    """Run the web UI, the API and the background worker in one process."""
    import uvicorn

    from postroom.app import create_app

    with _runtime() as runtime:
        settings = runtime.settings
        _setup_logging(settings)
        host, port = host or settings.host, port or settings.port
        _print_welcome(runtime, host, port)
        uvicorn.run(
            create_app(runtime, with_worker=True),
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
        )


def _print_welcome(runtime: Runtime, host: str, port: int) -> None:
    with runtime.platform() as session:
        _, user_count = users.list_users(session, limit=1)
    click.echo(f"Postroom {settings_summary(runtime.settings)}")
    click.echo(f"Open http://{host}:{port}/ and log in with a user's e-mail and password.")
    click.echo(f"API: http://{host}:{port}/api/v1/docs")
    if user_count == 0:
        click.echo(
            "No users yet. In another terminal create a company and its administrator:\n"
            "  postroom company create --name 'My Office'\n"
            "  postroom user create --company 1 --email you@example.com --admin"
        )


def settings_summary(settings: Settings) -> str:
    return (
        f"data in {settings.data_dir}, database {settings.effective_database_url.split('://')[0]}"
    )


@main.command()
def worker() -> None:
    """Run background work only (for more workers sharing one PostgreSQL)."""
    from postroom.worker.loop import run_worker

    with _runtime() as runtime:
        _setup_logging(runtime.settings)

        async def _run() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await run_worker(runtime, stop)

        asyncio.run(_run())


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the newest version."""
    with _runtime(migrate=False) as runtime:
        upgrade(runtime.engine)
        click.echo("Database schema is up to date.")


@main.group()
def company() -> None:
    """Companies (tenants)."""


@company.command("create")
@click.option("--name", required=True, help="The company's name.")
@click.option("--verified", is_flag=True, help="Mark it verified (platform relay limits, B5).")
@click.option(
    "--email-mode",
    type=click.Choice([m.value for m in EmailMode]),
    default=EmailMode.OFF.value,
    show_default=True,
    help="How it sends e-mail.",
)
def company_create(name: str, verified: bool, email_mode: str) -> None:
    """Create a company; prints its id."""
    with _runtime() as runtime:
        with runtime.platform() as session:
            created = companies.create_company(
                session, name=name, verified=verified, email_mode=EmailMode(email_mode)
            )
            company_id = created.id
        click.echo(f"Created company {company_id}: {name}")


@main.group()
def user() -> None:
    """Users."""


@user.command("create")
@click.option("--company", "company_id", type=int, required=True, help="The company's id.")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--name", default="", help="Full name.")
@click.option("--admin", is_flag=True, help="Make the user a company administrator.")
@click.option(
    "--language",
    type=click.Choice([lang.value for lang in Language]),
    default="pl",
    show_default=True,
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_create(
    company_id: int, email: str, name: str, admin: bool, language: str, password_stdin: bool
) -> None:
    """Create a user; asks for the password (never pass it as an argument)."""
    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else click.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    with _runtime() as runtime:
        with runtime.platform() as session:
            companies.get_company(session, company_id)
            rescope(session, company_id)
            created = users.create_user(
                session,
                actor=None,
                company_id=company_id,
                email=email,
                name=name,
                password=password,
                role=Role.ADMIN if admin else Role.USER,
                language=Language(language),
            )
            session.flush()
            label = f"{created.email} (id {created.id}, {created.role.value})"
        click.echo(f"Created user {label}. Log in at the web UI with this e-mail and password.")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--user", "email", required=True, help="The user's login e-mail.")
@click.option("--name", default="", help="What the token is for.")
def token_create(email: str, name: str) -> None:
    """Create an API token for a user and print it (shown only this once)."""
    with _runtime() as runtime:
        with runtime.platform() as session:
            owner = session.scalar(select(User).where(User.email == email.strip().lower()))
            if owner is None:
                raise click.ClickException(f"No user with the e-mail {email}.")
            rescope(session, owner.company_id)
            issued = tokens.issue_token(session, actor=None, user=owner, name=name)
        click.echo(issued.plaintext)


@main.group()
def secrets() -> None:
    """Encryption keys of stored secrets."""


@secrets.command("new-key")
def secrets_new_key() -> None:
    """Print a new random key (for POSTROOM_SECRET_KEY)."""
    click.echo(new_key())


@secrets.command("rotate")
def secrets_rotate() -> None:
    """Make a new key the primary one and re-encrypt every stored secret with it.

    With a key file, a new key is added to it. With POSTROOM_SECRET_KEY, put the new key
    first in the variable yourself (keeping the old ones after it), then run this.
    """
    settings = load_settings()
    if settings.secret_key is None:
        prepend_key_to_file(settings.key_file, new_key())
    with _runtime() as runtime:
        total = rotation.count_accounts(runtime)
        with click.progressbar(length=total, label="Re-encrypting accounts") as bar:
            rotated = rotation.reencrypt_all(runtime, on_progress=bar.update)
        click.echo(f"Re-encrypted {rotated} secrets with the newest key.")


def run() -> None:
    """Console entry point."""
    main()
