"""Contacts, clients and tasks from incoming mail (A7, D5): who counts, and no duplicates."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import text

from postroom.db.models import Account, User
from postroom.db.models_crm import Client, Contact, Task, WebhookDelivery
from postroom.db.models_mailbox import MailMessage
from postroom.enums import FolderRole
from postroom.services import webhooks
from postroom.services.new_mail import on_new_mail
from postroom.services.runtime import Runtime
from tests.newmail.support import arrive, message, rows, set_account, store
from tests.support import Tenant
from tests.worker.outbox_support import make_account

ACCOUNT = "biuro@alfa.example.test"


@pytest.fixture
def account_id(runtime: Runtime, tenant: Tenant) -> int:
    account = make_account(runtime, tenant.company_id, email_address=ACCOUNT, name="Biuro")
    set_account(runtime, tenant.company_id, account, create_contacts=True, create_tasks=True)
    return account


def test_an_unknown_sender_becomes_a_contact_of_a_client_named_after_the_domain(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    first = message("Jan Kowalski <Jan.Kowalski@Mail.Kowalski-Serwis.pl>")
    second = message("Anna Nowak <anna@kowalski-serwis.pl>", subject="")
    ids = arrive(runtime, tenant.company_id, account_id, [first, second])

    (client,) = rows(runtime, tenant.company_id, Client)
    assert (client.name, client.domain, client.created_from_mail_id) == (
        "Kowalski-Serwis",
        "kowalski-serwis.pl",
        ids[0],
    )
    contacts = rows(runtime, tenant.company_id, Contact)
    assert [(c.email, c.name, c.client_id) for c in contacts] == [
        ("jan.kowalski@mail.kowalski-serwis.pl", "Jan Kowalski", client.id),
        ("anna@kowalski-serwis.pl", "Anna Nowak", client.id),
    ]
    tasks = rows(runtime, tenant.company_id, Task)
    assert [(t.title, t.mail_message_id, t.contact_id, t.account_id) for t in tasks] == [
        ("Zapytanie o fakturę", ids[0], contacts[0].id, account_id),
        ("(no subject)", ids[1], contacts[1].id, account_id),
    ]


@pytest.mark.parametrize(
    "sender",
    [
        "Ola <ola.nowak@gmail.com>",
        "ola@poczta.onet.pl",
        "ola@wp.pl",
        "ola@gmx.de",
        "ola@proton.me",
    ],
)
def test_a_free_mail_sender_is_a_contact_without_a_client(
    runtime: Runtime, tenant: Tenant, account_id: int, sender: str
) -> None:
    arrive(runtime, tenant.company_id, account_id, [message(sender)])
    (contact,) = rows(runtime, tenant.company_id, Contact)
    assert contact.client_id is None
    assert rows(runtime, tenant.company_id, Client) == []


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        (ACCOUNT, {}),  # the account itself
        ("kasia@alfa.example.test", {}),  # another account of the company (below)
        ("admin@c1.example.test", {}),  # a user of the company
        ("MAILER-DAEMON@kowalski-serwis.pl", {}),
        ("postmaster@kowalski-serwis.pl", {}),
        ("noreply@kowalski-serwis.pl", {}),
        ("no-reply@kowalski-serwis.pl", {}),
        ("newsletter@kowalski-serwis.pl", {"List-Unsubscribe": "<mailto:u@kowalski-serwis.pl>"}),
        ("biuletyn@kowalski-serwis.pl", {"Precedence": "bulk"}),
        ("system@kowalski-serwis.pl", {"Auto-Submitted": "auto-generated"}),
        ("not an address", {}),
        ("", {}),
    ],
)
def test_no_contact_for_colleagues_machines_lists_or_no_sender(
    runtime: Runtime, tenant: Tenant, account_id: int, sender: str, headers: dict[str, str]
) -> None:
    make_account(runtime, tenant.company_id, email_address="kasia@alfa.example.test")
    arrive(runtime, tenant.company_id, account_id, [message(sender, headers=headers)])
    assert rows(runtime, tenant.company_id, Contact) == []
    assert rows(runtime, tenant.company_id, Client) == []
    assert len(rows(runtime, tenant.company_id, Task)) == 1  # every message is a task


def test_an_existing_contact_and_client_are_reused(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    arrive(runtime, tenant.company_id, account_id, [message()])
    arrive(runtime, tenant.company_id, account_id, [message(subject="Druga sprawa")])
    assert len(rows(runtime, tenant.company_id, Contact)) == 1
    assert len(rows(runtime, tenant.company_id, Client)) == 1
    tasks = rows(runtime, tenant.company_id, Task)
    assert len({t.contact_id for t in tasks}) == 1 and len(tasks) == 2


def test_a_resync_of_the_same_messages_makes_no_duplicates(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    ids = arrive(runtime, tenant.company_id, account_id, [message(), message("x@firma-b.pl")])
    with runtime.tenant(tenant.company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None
        stored = [session.get(MailMessage, i) for i in ids]
        on_new_mail(runtime, session, account, [m for m in stored if m is not None])
    assert len(rows(runtime, tenant.company_id, Contact)) == 2
    assert len(rows(runtime, tenant.company_id, Client)) == 2
    assert len(rows(runtime, tenant.company_id, Task)) == 2


def test_the_switches_off_make_nothing(runtime: Runtime, tenant: Tenant, account_id: int) -> None:
    set_account(runtime, tenant.company_id, account_id, create_contacts=False, create_tasks=False)
    arrive(runtime, tenant.company_id, account_id, [message()])
    assert rows(runtime, tenant.company_id, Contact) == []
    assert rows(runtime, tenant.company_id, Task) == []


def test_tasks_link_an_existing_contact_even_when_contacts_are_off(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    arrive(runtime, tenant.company_id, account_id, [message()])
    set_account(runtime, tenant.company_id, account_id, create_contacts=False)
    arrive(runtime, tenant.company_id, account_id, [message(subject="Druga")])
    first, second = rows(runtime, tenant.company_id, Task)
    assert second.contact_id == first.contact_id is not None


def test_history_and_filed_copies_make_nothing(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    arrive(runtime, tenant.company_id, account_id, [message()], from_history=True)
    for path, role in (("Sent", FolderRole.SENT), ("Drafts", FolderRole.DRAFTS)):
        arrive(runtime, tenant.company_id, account_id, [message()], path=path, role=role)
    arrive(runtime, tenant.company_id, account_id, [message()], path="Spam", role=FolderRole.JUNK)
    assert rows(runtime, tenant.company_id, Contact) == []
    assert rows(runtime, tenant.company_id, Task) == []


def test_a_message_moved_to_another_folder_is_not_new_mail(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    raw = message()
    arrive(runtime, tenant.company_id, account_id, [raw])
    # Another client moved it to "Klienci": the sync stores the same bytes under a new UID.
    arrive(runtime, tenant.company_id, account_id, [raw], path="Klienci", role=FolderRole.OTHER)
    # Two copies in one fetch (a server-side filter that files a copy) count once too.
    twice = message(subject="Kopia")
    arrive(runtime, tenant.company_id, account_id, [twice, twice])
    assert [t.title for t in rows(runtime, tenant.company_id, Task)] == [
        "Zapytanie o fakturę",
        "Kopia",
    ]


def _events(runtime: Runtime, company_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [(d.event, d.payload) for d in rows(runtime, company_id, WebhookDelivery)]


def test_new_records_are_announced_to_webhooks_once(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    with runtime.tenant(tenant.company_id) as session:
        admin = session.get(User, tenant.admin.id)
        assert admin is not None
        webhooks.create_endpoint(
            session,
            actor=admin,
            secret_box=runtime.secret_box,
            url="https://erp.example.test/hooks",
            events=[],
        )
        webhooks.create_endpoint(
            session,
            actor=admin,
            secret_box=runtime.secret_box,
            url="https://crm.example.test/hooks",
            events=[webhooks.WebhookEvent.CONTACT_CREATED],
        )
    ids = arrive(runtime, tenant.company_id, account_id, [message()])
    arrive(runtime, tenant.company_id, account_id, [message(subject="Druga")])
    events = _events(runtime, tenant.company_id)
    assert sorted(event for event, _ in events) == [
        "client.created",
        "contact.created",
        "contact.created",
        "task.created",
        "task.created",
    ]
    contact = next(payload for event, payload in events if event == "contact.created")
    assert contact["email"] == "jan.kowalski@kowalski-serwis.pl"
    assert contact["created_from_mail_id"] == ids[0]
    task = next(payload for event, payload in events if event == "task.created")
    assert task["mail_message_id"] == ids[0] and task["status"] == "open"


def _waiting_on_a_lock(runtime: Runtime) -> bool:
    with runtime.engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar()
    return bool(waiting)


def test_two_fetches_meeting_one_new_sender_make_one_contact_and_client(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: two fetches cannot interleave there")
    other = make_account(runtime, tenant.company_id, email_address="kadry@alfa.example.test")
    set_account(runtime, tenant.company_id, other, create_contacts=True, create_tasks=True)
    errors: list[BaseException] = []

    def second_fetch() -> None:
        try:
            arrive(runtime, tenant.company_id, other, [message(subject="Do kadr")])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with runtime.tenant(tenant.company_id) as session:
        account = session.get(Account, account_id)
        assert account is not None
        on_new_mail(runtime, session, account, store(runtime, session, account, [message()]))
        # The first fetch has made the contact and client but not committed: the second one
        # finds neither, and its INSERT waits for this transaction.
        thread = threading.Thread(target=second_fetch)
        thread.start()
        deadline = time.monotonic() + 30
        while not (waited := _waiting_on_a_lock(runtime)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waited, "the second fetch never met the first one's rows"
    thread.join(60)
    assert errors == []
    (contact,) = rows(runtime, tenant.company_id, Contact)
    assert len(rows(runtime, tenant.company_id, Client)) == 1
    tasks = rows(runtime, tenant.company_id, Task)
    assert [t.contact_id for t in tasks] == [contact.id, contact.id]
