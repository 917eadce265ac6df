"""Migration POP3 → IMAP (D4) against the real Dovecot: original bytes, dates, skips, resume."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.utils import parsedate_to_datetime

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from postroom.cli import main
from postroom.config import Settings
from postroom.db.models import Account, AccountChange
from postroom.db.models_mailbox import MailMessage, MailMigration
from postroom.enums import JobStatus
from postroom.services.migration_runner import run_migration
from postroom.services.runtime import Runtime
from postroom.storage.mailstore import mail_store_for
from postroom.worker.migrations import run_migrations
from tests.fixtures.mailenv import MailEnv
from tests.mailbox.support import (
    imap_account,
    imap_client,
    make_message,
    messages_of,
    mirror_imap,
    mirror_pop3,
    new_address,
    pop3_account,
    server_messages,
)
from tests.support import Tenant

API = "/api/v1"
FOLDER = "Z POP3"


@dataclass(frozen=True)
class Accounts:
    source: int
    target: int
    target_address: str
    raws: dict[int, bytes]  # message id -> raw bytes as stored (as POP3 gave them)


def _accounts(runtime: Runtime, tenant: Tenant, mailenv: MailEnv, count: int) -> Accounts:
    source_address = new_address("stara")
    source = pop3_account(runtime, tenant.company_id, mailenv, source_address)
    for day in range(1, count + 1):
        when = datetime(2023, 1, day, 8, 15, tzinfo=UTC)
        mailenv.deliver(make_message(f"Wiadomość {day}", when=when), source_address)
    mirror_pop3(runtime, tenant.company_id, source, mailenv, source_address)
    target_address = new_address("nowa")
    target = imap_account(runtime, tenant.company_id, mailenv, target_address)
    store = mail_store_for(runtime.settings.data_dir)
    raws = {m.id: store.read(m.blob_key) for m in messages_of(runtime, tenant.company_id, source)}
    return Accounts(source, target, target_address, raws)


@pytest.fixture
def accounts(runtime: Runtime, tenant: Tenant, mailenv: MailEnv) -> Accounts:
    return _accounts(runtime, tenant, mailenv, 4)


def _start(client: TestClient, tenant: Tenant, a: Accounts, **fields: object) -> dict[str, object]:
    body = {
        "source_account_id": a.source,
        "target_account_id": a.target,
        "target_folder": FOLDER,
        "all": True,
        **fields,
    }
    response = client.post(f"{API}/migrations", headers=tenant.admin.headers, json=body)
    assert response.status_code == 202, response.text
    created: dict[str, object] = response.json()
    return created


def _run(runtime: Runtime, migration_id: int, worker: str = "test:1:a") -> JobStatus | None:
    return asyncio.run(run_migration(runtime, migration_id, worker))


def test_messages_arrive_with_their_original_bytes_dates_and_flags(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv, accounts: Accounts
) -> None:
    ids = sorted(accounts.raws)
    with runtime.tenant(tenant.company_id) as session:  # read in Postroom: \Seen on upload
        session.execute(update(MailMessage).where(MailMessage.id == ids[1]).values(seen=True))
    with imap_client(mailenv, accounts.target_address) as imap:  # one is there already
        imap.create(f'"{FOLDER}"')
        imap.append(f'"{FOLDER}"', None, None, accounts.raws[ids[0]])

    created = _start(client, tenant, accounts)
    assert created | {"status": "pending", "total": 4, "pending": 4, "copied": 0} == created
    assert _run(runtime, int(str(created["id"]))) is JobStatus.DONE

    progress = client.get(f"{API}/migrations/{created['id']}", headers=tenant.admin.headers).json()
    expected = {"status": "done", "copied": 3, "skipped": 1, "failed": 0, "pending": 0}
    assert progress | expected == progress
    uploaded = server_messages(mailenv, accounts.target_address, FOLDER)
    assert sorted(m["raw"] for m in uploaded.values()) == sorted(accounts.raws.values())
    for message in uploaded.values():
        date = parsedate_to_datetime(str(message_from_bytes(message["raw"])["Date"]))
        if message["raw"] != accounts.raws[ids[0]]:  # ours, not the one appended by hand
            assert message["internal_date"] == date
        seen = "\\Seen" in message["flags"]
        assert seen == (message["raw"] == accounts.raws[ids[1]])

    with runtime.tenant(tenant.company_id) as session:
        source = session.get(Account, accounts.source)
        assert source is not None and source.active is False  # kept as a readable archive
        change = session.scalar(
            select(AccountChange).where(AccountChange.account_id == accounts.source)
        )
        assert change is not None and change.changes == [
            {"field": "active", "old": True, "new": False}
        ]
    assert len(messages_of(runtime, tenant.company_id, accounts.source)) == 4  # still readable

    # The uploaded copies are mail of the target account now, known by their new UIDs and
    # marked history, so its next fetch neither downloads them again nor takes them for new.
    copies = messages_of(runtime, tenant.company_id, accounts.target)
    by_uid = {uid: m["raw"] for uid, m in uploaded.items()}
    assert len(copies) == 3 and all(m.from_history for m in copies)
    store = mail_store_for(runtime.settings.data_dir)
    assert all(store.read(m.blob_key) == by_uid[m.uid or 0] for m in copies)
    mirror_imap(runtime, tenant.company_id, accounts.target, mailenv, accounts.target_address)
    after = messages_of(runtime, tenant.company_id, accounts.target)
    assert len(after) == 4  # only the one another client had put there


def test_a_crashed_run_resumes_without_duplicates(
    client: TestClient, tenant: Tenant, runtime: Runtime, mailenv: MailEnv
) -> None:
    accounts = _accounts(runtime, tenant, mailenv, 5)
    created = _start(client, tenant, accounts, deactivate_source=False)
    migration_id = int(str(created["id"]))
    calls: list[int] = []

    def crash_on_third(item_id: int) -> None:
        calls.append(item_id)
        if len(calls) == 3:  # uploaded, but the process dies before noting it
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError, match="simulated crash"):
        asyncio.run(run_migration(runtime, migration_id, "test:1:a", after_append=crash_on_third))
    midway = client.get(f"{API}/migrations/{migration_id}", headers=tenant.admin.headers).json()
    assert midway | {"status": "running", "copied": 2, "pending": 3} == midway

    assert _run(runtime, migration_id, "test:2:b") is JobStatus.DONE
    done = client.get(f"{API}/migrations/{migration_id}", headers=tenant.admin.headers).json()
    assert done | {"status": "done", "copied": 4, "skipped": 1, "failed": 0} == done
    uploaded = server_messages(mailenv, accounts.target_address, FOLDER)
    assert sorted(m["raw"] for m in uploaded.values()) == sorted(accounts.raws.values())
    with runtime.tenant(tenant.company_id) as session:
        source = session.get(Account, accounts.source)
        assert source is not None and source.active is True  # deactivate_source false


def test_one_runner_at_a_time_and_cancel(
    client: TestClient, tenant: Tenant, runtime: Runtime, accounts: Accounts
) -> None:
    created = _start(client, tenant, accounts, message_ids=sorted(accounts.raws)[:2], all=False)
    migration_id = int(str(created["id"]))
    assert created["total"] == 2
    with runtime.tenant(tenant.company_id) as session:  # another worker holds it
        session.execute(
            update(MailMigration)
            .where(MailMigration.id == migration_id)
            .values(lease_owner="other:1:x", lease_expires_at=datetime(2999, 1, 1, tzinfo=UTC))
        )
    assert _run(runtime, migration_id) is None
    again = _start_error(client, tenant, accounts)
    assert again.status_code == 409 and again.json()["code"] == "migration_running"

    url = f"{API}/migrations/{migration_id}/cancel"
    cancelled = client.post(url, headers=tenant.admin.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(url, headers=tenant.admin.headers).json()["code"] == "migration_finished"
    assert _run(runtime, migration_id) is None


def _start_error(
    client: TestClient, tenant: Tenant, a: Accounts, **fields: object
) -> httpx.Response:
    body = {"source_account_id": a.source, "target_account_id": a.target, "all": True, **fields}
    return client.post(f"{API}/migrations", headers=tenant.admin.headers, json=body)


def test_invalid_requests_name_the_field(
    client: TestClient,
    tenant: Tenant,
    other_tenant: Tenant,
    runtime: Runtime,
    mailenv: MailEnv,
    accounts: Accounts,
) -> None:
    cases = {
        "target_account_id": {"target_account_id": accounts.source},  # POP3, and the source
        "message_ids": {"message_ids": [999999], "all": False},
        "folder_ids": {"folder_ids": [999999], "all": False},
    }
    for field, fields in cases.items():
        response = _start_error(client, tenant, accounts, **fields)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["errors"][0]["field"] == field
    both = _start_error(client, tenant, accounts, message_ids=[1])
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "message_ids"
    # Another company's accounts do not exist for them (E3).
    theirs = client.post(
        f"{API}/migrations",
        headers=other_tenant.admin.headers,
        json={
            "source_account_id": accounts.source,
            "target_account_id": accounts.target,
            "all": True,
        },
    )
    assert theirs.status_code == 422 and theirs.json()["errors"][0]["field"] == "source_account_id"


def test_the_worker_and_the_command_line_run_migrations(
    client: TestClient, tenant: Tenant, runtime: Runtime, settings: Settings, accounts: Accounts
) -> None:
    first = _start(client, tenant, accounts, deactivate_source=False)
    assert run_migrations(runtime) == 1  # the worker's periodic job
    done = client.get(f"{API}/migrations/{first['id']}", headers=tenant.admin.headers).json()
    assert done | {"status": "done", "copied": 4} == done

    second = _start(client, tenant, accounts, deactivate_source=False)  # the same mail again
    secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
    runner = CliRunner(
        env={
            "POSTROOM_DATA_DIR": str(settings.data_dir),
            "POSTROOM_DATABASE_URL": settings.effective_database_url,
            "POSTROOM_SECRET_KEY": secret,
            "POSTROOM_ALLOWED_NETWORKS": settings.allowed_networks,
            "POSTROOM_EXTRA_CA_FILE": str(settings.extra_ca_file),
        }
    )
    ran = runner.invoke(main, ["migrate", "run", str(second["id"])])
    assert ran.exit_code == 0, ran.output
    assert "done: 0 copied, 4 already there, 0 failed of 4." in ran.output
    status = runner.invoke(main, ["migrate", "status", str(second["id"])])
    assert "done: 4 of 4 done (0 copied, 4 already there, 0 failed)." in status.output
    missing = runner.invoke(main, ["migrate", "status", "999999"])
    assert missing.exit_code == 1 and "Migration 999999 does not exist." in missing.output
