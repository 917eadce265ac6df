"""`postroom fetch ACCOUNT_ID [--wait]`: a request for the worker, or a fetch with progress."""

from __future__ import annotations

from click.testing import CliRunner

from postroom.cli import main
from postroom.config import Settings
from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.support import Tenant
from tests.sync.support import append, make_account, messages, new_mailbox, other_client, stored


def _env(settings: Settings) -> dict[str, str]:
    assert settings.secret_key is not None
    return {
        "POSTROOM_DATA_DIR": str(settings.data_dir),
        "POSTROOM_DATABASE_URL": settings.effective_database_url,
        "POSTROOM_SECRET_KEY": settings.secret_key.get_secret_value(),
        "POSTROOM_ALLOWED_NETWORKS": settings.allowed_networks,
        "POSTROOM_EXTRA_CA_FILE": str(settings.extra_ca_file),
    }


def test_fetch_with_wait_downloads_and_reports(
    settings: Settings, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", messages(7, to=address))
    account_id = make_account(runtime, tenant.company_id, mailenv, address)
    runner = CliRunner(env=_env(settings))

    queued = runner.invoke(main, ["fetch", str(account_id)])
    assert queued.exit_code == 0, queued.output
    assert "requested" in queued.output and stored(runtime, tenant.company_id, account_id) == []

    done = runner.invoke(main, ["fetch", str(account_id), "--wait"])
    assert done.exit_code == 0, done.output
    assert f"Fetched account {account_id}: 7 new messages." in done.output
    assert len(stored(runtime, tenant.company_id, account_id)) == 7


def test_fetch_of_an_unknown_or_inactive_account_says_why(
    settings: Settings, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    runner = CliRunner(env=_env(settings))
    missing = runner.invoke(main, ["fetch", "999999"])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    inactive = make_account(runtime, tenant.company_id, mailenv, new_mailbox(mailenv), active=False)
    refused = runner.invoke(main, ["fetch", str(inactive), "--wait"])
    assert refused.exit_code == 1 and "inactive" in refused.output
