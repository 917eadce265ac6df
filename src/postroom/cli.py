"""The `postroom` command: serve, worker, db, company, user, token, secrets."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from sqlalchemy import select

from postroom.cli_reminders import reminders as reminders_commands
from postroom.config import Settings, load_settings
from postroom.db.migrate import upgrade
from postroom.db.models import User
from postroom.db.tenancy import rescope
from postroom.enums import CampaignStatus, EmailMode, Language, Role
from postroom.errors import PostroomError
from postroom.gc_tuning import freeze_startup_objects
from postroom.secrets import new_key, prepend_key_to_file
from postroom.services import companies, migration, rotation, tokens, users
from postroom.services.campaign_progress import Progress as CampaignProgress
from postroom.services.campaign_progress import read_progress
from postroom.services.migration_runner import run_migration
from postroom.services.runtime import Runtime, build_runtime
from postroom.worker.delivery import make_worker_id


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
        app = create_app(runtime, with_worker=True)
        freeze_startup_objects()
        uvicorn.run(
            app,
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

        freeze_startup_objects()
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


@main.group()
def migrate() -> None:
    """Mailbox migrations (D4): an old account's mail uploaded to a new IMAP account."""


def _migration_bar(runtime: Runtime, migration_id: int, step: Callable[[], None]) -> None:
    """A progress bar over the migration's messages, advanced after each `step` until the
    migration is no longer open; then its counts."""
    progress = migration.read_progress(runtime, migration_id)
    with click.progressbar(length=progress.total, label=f"Migration {migration_id}") as bar:
        bar.update(progress.done)
        while progress.open:
            step()
            now = migration.read_progress(runtime, migration_id)
            bar.update(now.done - progress.done)
            progress = now
    click.echo(
        f"{progress.status.value}: {progress.copied} copied, {progress.skipped} already there, "
        f"{progress.failed} failed of {progress.total}."
    )
    if progress.last_error:
        click.echo(progress.last_error)


@migrate.command("status")
@click.argument("migration_id", type=int)
@click.option("--wait", is_flag=True, help="Follow it with a progress bar until it ends.")
def migrate_status(migration_id: int, wait: bool) -> None:
    """Show a migration's progress (a worker runs it)."""
    with _runtime() as runtime:
        if wait:
            _migration_bar(runtime, migration_id, lambda: time.sleep(1.0))
            return
        p = migration.read_progress(runtime, migration_id)
        click.echo(
            f"{p.status.value}: {p.done} of {p.total} done ({p.copied} copied, "
            f"{p.skipped} already there, {p.failed} failed)."
        )
        if p.last_error:
            click.echo(p.last_error)


@migrate.command("run")
@click.argument("migration_id", type=int)
def migrate_run(migration_id: int) -> None:
    """Run a migration here and now instead of in a worker (resumes where it stopped)."""
    worker_id = f"cli:{make_worker_id()}"
    with _runtime() as runtime:

        def step() -> None:
            asyncio.run(run_migration(runtime, migration_id, worker_id, budget_seconds=2.0))

        _migration_bar(runtime, migration_id, step)


@main.command()
@click.argument("account_id", type=int)
@click.option(
    "--wait", is_flag=True, help="Fetch now in this process, showing progress, until done."
)
def fetch(account_id: int, wait: bool) -> None:
    """Fetch an account's mail now (docs/receiving.md); without --wait a worker does it."""
    from postroom.services import sync_commands

    with _runtime() as runtime:
        company_id = sync_commands.company_of_account(runtime, account_id)
        sync_commands.request_fetch(runtime, company_id, account_id)
        if not wait:
            click.echo(f"Fetch of account {account_id} requested; a worker fetches it shortly.")
            return
        asyncio.run(_fetch_and_show(runtime, company_id, account_id))
        status = sync_commands.status_of(runtime, company_id, account_id)
    if status.phase == "failed":
        raise click.ClickException(f"The fetch failed: {status.last_error}")
    click.echo(f"Fetched account {account_id}: {status.last_new_messages} new messages.")


async def _fetch_and_show(runtime: Runtime, company_id: int, account_id: int) -> None:
    """Run the fetch here with a progress bar; if a worker is fetching the account already,
    follow that fetch's progress instead."""
    from postroom.services import sync_commands
    from postroom.services.sync_context import Progress
    from postroom.services.sync_progress import SyncPhase
    from postroom.services.sync_run import run_fetch

    with click.progressbar(length=1, label="connecting", show_pos=True) as bar:

        def show(progress: Progress) -> None:
            bar.label = f"{progress.phase.value} {progress.folder or ''}".strip()
            bar.length = max(progress.total, progress.done, 1)
            bar.update(progress.done - bar.pos)

        async def attempt() -> bool:
            result = await run_fetch(
                runtime,
                company_id=company_id,
                account_id=account_id,
                worker_id=make_worker_id(),
                on_progress=show,
            )
            return result.ran

        if await attempt():
            return
        while True:  # another process is fetching the account: follow its progress
            status = await asyncio.to_thread(
                sync_commands.status_of, runtime, company_id, account_id
            )
            if not status.running:
                await attempt()  # its fetch ended; ours (the request) runs now, if still due
                return
            show(Progress(SyncPhase(status.phase), status.folder, status.done, status.total))
            await asyncio.sleep(0.5)


@main.group()
def campaign() -> None:
    """Campaigns (C2): serial sending of documents, newsletters and surveys."""


def _campaign_line(progress: CampaignProgress) -> str:
    counts = progress.counts
    eta = progress.eta_seconds
    left = f", about {max(1, round(eta / 60))} min left" if eta else ""
    return (
        f"{progress.status.value}: {progress.done} of {progress.total} done (sent "
        f"{counts['sent']}, failed {counts['failed']}, bounced {counts['bounced']}, opted out "
        f"{counts['opted_out']}, invalid {counts['invalid']}, cancelled {counts['cancelled']}; "
        f"queued {counts['queued']}, pending {counts['pending']}); "
        f"{progress.rate_per_minute} a minute{left}."
    )


def _still_moving(progress: CampaignProgress) -> bool:
    """Sending or waiting for its time, or stopped with messages still on their way; a draft
    or a paused campaign does not move by itself, so following it would never end."""
    if progress.status in (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING):
        return True
    stopped = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)
    return progress.status in stopped and progress.counts["queued"] > 0


@campaign.command("status")
@click.argument("campaign_id", type=int)
@click.option("--follow", is_flag=True, help="Follow it with a progress bar until it stops.")
def campaign_status(campaign_id: int, follow: bool) -> None:
    """Show a campaign's progress: counts by status, rate, time left (a worker sends it)."""
    with _runtime() as runtime:
        name, progress = read_progress(runtime, campaign_id)
        if follow:
            label = f"Campaign {campaign_id} {name}"[:60]
            with click.progressbar(length=max(progress.total, 1), label=label) as bar:
                bar.update(progress.done)
                while _still_moving(progress):
                    time.sleep(1.0)
                    _, now = read_progress(runtime, campaign_id)
                    bar.update(now.done - progress.done)
                    progress = now
        click.echo(_campaign_line(progress))


def run() -> None:
    """Console entry point."""
    main()


main.add_command(reminders_commands)  # deadline reminders (issue 8)
