"""Who a sender is: a machine, a free-mail person, or a company whose domain names a client."""

from __future__ import annotations

from pathlib import Path

import pytest

from postroom.config import Settings
from postroom.db.models_crm import Client, Contact, Task
from postroom.db.models_outbox import OutboxMessage
from postroom.services.mail_senders import (
    client_name,
    free_mail_domains,
    is_machine_address,
    organisation_domain,
)
from postroom.services.runtime import Runtime
from tests.newmail.support import arrive, rows, set_account
from tests.support import Tenant
from tests.worker.outbox_support import make_account

CORPUS = Path(__file__).parents[1] / "mail" / "corpus" / "dsn"


@pytest.mark.parametrize(
    ("address", "machine"),
    [
        ("MAILER-DAEMON@firma.pl", True),
        ("mailer-daemon@firma.pl", True),
        ("postmaster@firma.pl", True),
        ("noreply@firma.pl", True),
        ("no-reply@firma.pl", True),
        ("no_reply@firma.pl", True),
        ("no.reply@firma.pl", True),
        ("noreply-faktury@firma.pl", True),
        ("DoNotReply@firma.pl", True),
        ("bounces+123@esp.pl", True),
        ("owner-lista@lists.pl", True),
        ("lista-request@lists.pl", True),
        ("jan.kowalski@firma.pl", False),
        ("reply@firma.pl", False),
        ("biuro@firma.pl", False),
    ],
)
def test_machine_senders(address: str, machine: bool) -> None:
    assert is_machine_address(address) is machine


@pytest.mark.parametrize(
    ("domain", "organisation", "name"),
    [
        ("kowalski-serwis.pl", "kowalski-serwis.pl", "Kowalski-Serwis"),
        ("mail.kowalski-serwis.pl", "kowalski-serwis.pl", "Kowalski-Serwis"),
        ("biuro.firma.com.pl", "firma.com.pl", "Firma"),
        ("Firma.WAW.pl", "firma.waw.pl", "Firma"),
        ("acme.co.uk", "acme.co.uk", "Acme"),
        ("xn--dzka-piekarnia-kob77j.pl", "xn--dzka-piekarnia-kob77j.pl", "Łódzka-Piekarnia"),
    ],
)
def test_organisation_domain_and_client_name(domain: str, organisation: str, name: str) -> None:
    assert organisation_domain(domain) == organisation
    assert client_name(domain) == name


@pytest.mark.parametrize(
    ("domain", "free"),
    [
        ("gmail.com", True),
        ("wp.pl", True),
        ("o2.pl", True),
        ("onet.pl", True),
        ("poczta.onet.pl", True),
        ("interia.pl", True),
        ("op.pl", True),
        ("outlook.com", True),
        ("hotmail.co.uk", True),
        ("yahoo.de", True),
        ("icloud.com", True),
        ("gmx.net", True),
        ("GMX.AT", True),
        ("proton.me", True),
        ("kowalski-serwis.pl", False),
        ("gmx-serwis.pl", False),
        ("mygmail.com", False),
    ],
)
def test_free_mail_domains(domain: str, free: bool) -> None:
    assert (domain in free_mail_domains(Settings())) is free


def test_operators_add_free_mail_domains_in_a_file(tmp_path: Path) -> None:
    extra = tmp_path / "freemail.txt"
    extra.write_text("# our region\nposta.example\nmail.*\n", encoding="utf-8")
    domains = free_mail_domains(Settings(freemail_domains_file=extra))
    assert "posta.example" in domains and "mail.ee" in domains and "gmail.com" in domains
    assert "posta.example" not in free_mail_domains(Settings())


def test_a_report_about_a_message_we_never_sent_changes_nothing_and_makes_nothing(
    runtime: Runtime, tenant: Tenant
) -> None:
    account = make_account(runtime, tenant.company_id, email_address="faktury@example.test")
    set_account(runtime, tenant.company_id, account, create_contacts=True, create_tasks=True)
    raw = (CORPUS / "postfix-user-unknown.eml").read_bytes()
    arrive(runtime, tenant.company_id, account, [raw])
    assert rows(runtime, tenant.company_id, OutboxMessage) == []
    # Not ours, so it stays an ordinary message: a task, but no contact for MAILER-DAEMON.
    assert [t.title for t in rows(runtime, tenant.company_id, Task)] == [
        "Undelivered Mail Returned to Sender"
    ]
    assert rows(runtime, tenant.company_id, Contact) == []
    assert rows(runtime, tenant.company_id, Client) == []
