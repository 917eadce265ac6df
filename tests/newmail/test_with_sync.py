"""The rules run by the real sync (services/sync_run.py against the real Dovecot): history makes
nothing, new mail makes its contact, task and notification once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postroom.db.models_crm import Client, Contact, Notification, Task
from postroom.db.models_mailbox import MailMessage
from postroom.services import sync_run
from postroom.services.runtime import Runtime
from tests.fixtures.mailenv import MailEnv
from tests.newmail.support import message, rows
from tests.support import Tenant
from tests.sync.support import append, fetch, make_account, new_mailbox, other_client, quoted_folder


def _account_with_one_new_message(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> tuple[str, int]:
    address = new_mailbox(mailenv)
    account_id = make_account(
        runtime, tenant.company_id, mailenv, address, create_contacts=True, create_tasks=True
    )
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", [message(to=address, subject="Stara sprawa")])
    assert fetch(runtime, tenant.company_id, account_id).error is None  # the first import
    assert rows(runtime, tenant.company_id, Task) == []
    mailenv.deliver(message(to=address), address, mail_from="jan.kowalski@kowalski-serwis.pl")
    assert fetch(runtime, tenant.company_id, account_id).error is None
    return address, account_id


def test_new_mail_fetched_by_the_sync_makes_one_contact_task_and_notification(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    _, account_id = _account_with_one_new_message(runtime, tenant, mailenv)
    (task,) = rows(runtime, tenant.company_id, Task)
    (contact,) = rows(runtime, tenant.company_id, Contact)
    (client,) = rows(runtime, tenant.company_id, Client)
    assert task.title == "Zapytanie o fakturę" and task.contact_id == contact.id
    assert contact.client_id == client.id and client.domain == "kowalski-serwis.pl"
    (notification,) = rows(runtime, tenant.company_id, Notification)
    assert notification.user_id == tenant.admin.id and notification.count == 1
    assert fetch(runtime, tenant.company_id, account_id).error is None  # nothing new
    assert len(rows(runtime, tenant.company_id, Task)) == 1
    assert len(rows(runtime, tenant.company_id, Notification)) == 1


def test_a_message_another_client_moves_to_a_folder_is_not_new_mail_again(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address, account_id = _account_with_one_new_message(runtime, tenant, mailenv)
    with other_client(mailenv, address) as imap:  # filed away by the user's mail program
        imap.create(quoted_folder("Klienci"))
        imap.select("INBOX")
        _, found = imap.uid("SEARCH", "SUBJECT", '"Zapytanie"')
        moved = imap.uid("MOVE", found[0].decode(), quoted_folder("Klienci"))
        assert moved[0] == "OK", moved
    assert fetch(runtime, tenant.company_id, account_id).error is None
    assert len(rows(runtime, tenant.company_id, Task)) == 1
    assert len(rows(runtime, tenant.company_id, Notification)) == 1


def test_old_mail_the_user_files_into_a_folder_is_not_new_mail(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = new_mailbox(mailenv)
    account_id = make_account(
        runtime, tenant.company_id, mailenv, address, create_contacts=True, create_tasks=True
    )
    last_year = datetime.now(UTC) - timedelta(days=365)
    with other_client(mailenv, address) as imap:
        append(imap, "INBOX", [message(to=address, subject="Stara sprawa")], when=last_year)
    assert fetch(runtime, tenant.company_id, account_id).error is None  # the first import
    with other_client(mailenv, address) as imap:  # filed away long after the import
        imap.create(quoted_folder("Archiwum"))
        imap.select("INBOX")
        _, found = imap.uid("SEARCH", "ALL")
        assert imap.uid("MOVE", found[0].decode(), quoted_folder("Archiwum"))[0] == "OK"
    assert fetch(runtime, tenant.company_id, account_id).error is None
    assert rows(runtime, tenant.company_id, Task) == []
    assert rows(runtime, tenant.company_id, Notification) == []


def test_rules_interrupted_after_the_mail_was_stored_run_once_on_the_next_fetch(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = new_mailbox(mailenv)
    account_id = make_account(
        runtime, tenant.company_id, mailenv, address, create_contacts=True, create_tasks=True
    )
    assert fetch(runtime, tenant.company_id, account_id).error is None  # the first import
    mailenv.deliver(message(to=address), address, mail_from="jan.kowalski@kowalski-serwis.pl")

    def dies(ctx: object) -> None:
        raise OSError("the worker went away")

    monkeypatch.setattr(sync_run, "apply_rules", dies)
    assert fetch(runtime, tenant.company_id, account_id).error is not None
    (stored,) = rows(runtime, tenant.company_id, MailMessage)
    assert stored.rules_pending  # committed, listed, its rules still owed
    assert rows(runtime, tenant.company_id, Task) == []
    monkeypatch.undo()

    assert fetch(runtime, tenant.company_id, account_id).error is None  # nothing new on the server
    (task,) = rows(runtime, tenant.company_id, Task)
    assert task.title == "Zapytanie o fakturę"
    assert len(rows(runtime, tenant.company_id, Notification)) == 1
    assert not rows(runtime, tenant.company_id, MailMessage)[0].rules_pending
    assert fetch(runtime, tenant.company_id, account_id).error is None
    assert len(rows(runtime, tenant.company_id, Task)) == 1
