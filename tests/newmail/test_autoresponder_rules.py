"""The autoresponder (A9, RFC 3834): whom it answers, as a table, then what it queues."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.parser import BytesHeaderParser
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from postroom.db.models import Account, Company
from postroom.db.models_mailbox import AutoreplySent, MailMessage
from postroom.db.models_outbox import OutboxMessage
from postroom.enums import EmailMode, FolderRole, MessageStatus
from postroom.mail.parse import parse_message
from postroom.services.arrivals import Arrival
from postroom.services.autoreply_message import answer_subject
from postroom.services.autoresponder import Verdict, is_on, judge
from postroom.services.runtime import Runtime
from tests.newmail.support import arrive, message, rows, set_account
from tests.support import Tenant
from tests.worker.outbox_support import make_account

ACCOUNT = "biuro@alfa.example.test"
OURS = frozenset({ACCOUNT})
OWN = frozenset({ACCOUNT, "kadry@alfa.example.test", "admin@alfa.example.test"})
JAN = "Jan Kowalski <jan@kowalski-serwis.pl>"


def _arrival(raw: bytes, role: FolderRole = FolderRole.INBOX) -> Arrival:
    parsed = parse_message(raw, with_body=False)
    row = MailMessage(
        subject=parsed.subject,
        from_address=parsed.from_address,
        from_name=parsed.from_name,
        to_addresses=parsed.to,
        cc_addresses=parsed.cc,
        message_id_header=parsed.message_id,
        references=" ".join(parsed.references) or None,
        auto_submitted=parsed.auto_submitted,
    )
    return Arrival(row, BytesHeaderParser(policy=policy.default).parsebytes(raw), role)


# (case, raw message, verdict, whom the answer goes to)
CASES = [
    (
        "plain",
        message(JAN, return_path="<jan@kowalski-serwis.pl>"),
        Verdict.ANSWER,
        "jan@kowalski-serwis.pl",
    ),
    ("no Return-Path: From", message(JAN), Verdict.ANSWER, "jan@kowalski-serwis.pl"),
    (
        "Return-Path wins",
        message(JAN, return_path="<sekretariat@kowalski-serwis.pl>"),
        Verdict.ANSWER,
        "sekretariat@kowalski-serwis.pl",
    ),
    (
        "in Cc",
        message(JAN, to="inny@firma.pl", headers={"Cc": ACCOUNT}),
        Verdict.ANSWER,
        "jan@kowalski-serwis.pl",
    ),
    (
        "address case",
        message(JAN, to="BIURO@Alfa.Example.Test"),
        Verdict.ANSWER,
        "jan@kowalski-serwis.pl",
    ),
    (
        "Auto-Submitted: no",
        message(JAN, headers={"Auto-Submitted": "no"}),
        Verdict.ANSWER,
        "jan@kowalski-serwis.pl",
    ),
    (
        "auto-replied",
        message(JAN, headers={"Auto-Submitted": "auto-replied"}),
        Verdict.AUTO_SUBMITTED,
        None,
    ),
    (
        "auto-generated",
        message(JAN, headers={"Auto-Submitted": "auto-generated"}),
        Verdict.AUTO_SUBMITTED,
        None,
    ),
    (
        "auto-notified",
        message(JAN, headers={"Auto-Submitted": "auto-notified; owner-email=x@y.pl"}),
        Verdict.AUTO_SUBMITTED,
        None,
    ),
    ("Precedence bulk", message(JAN, headers={"Precedence": "bulk"}), Verdict.BULK, None),
    ("Precedence list", message(JAN, headers={"Precedence": "List"}), Verdict.BULK, None),
    ("Precedence junk", message(JAN, headers={"Precedence": "junk"}), Verdict.BULK, None),
    (
        "List-Id",
        message(JAN, headers={"List-Id": "<klienci.kowalski-serwis.pl>"}),
        Verdict.MAILING_LIST,
        None,
    ),
    (
        "List-Unsubscribe",
        message(JAN, headers={"List-Unsubscribe": "<mailto:u@x.pl>"}),
        Verdict.MAILING_LIST,
        None,
    ),
    (
        "List-Post",
        message(JAN, headers={"List-Post": "<mailto:l@x.pl>"}),
        Verdict.MAILING_LIST,
        None,
    ),
    ("null Return-Path", message(JAN, return_path="<>"), Verdict.NULL_RETURN_PATH, None),
    ("no From", message(""), Verdict.NO_SENDER, None),
    ("broken From", message("Jan Kowalski"), Verdict.NO_SENDER, None),
    ("ourselves", message(ACCOUNT), Verdict.OWN_ADDRESS, None),
    ("a colleague", message("Kadry <kadry@alfa.example.test>"), Verdict.OWN_ADDRESS, None),
    (
        "envelope is ours",
        message(JAN, return_path="<admin@alfa.example.test>"),
        Verdict.OWN_ADDRESS,
        None,
    ),
    ("mailer-daemon", message("MAILER-DAEMON@kowalski-serwis.pl"), Verdict.MACHINE_SENDER, None),
    ("postmaster", message("postmaster@kowalski-serwis.pl"), Verdict.MACHINE_SENDER, None),
    ("noreply", message("Sklep <noreply@sklep.pl>"), Verdict.MACHINE_SENDER, None),
    ("no-reply", message("no-reply@sklep.pl"), Verdict.MACHINE_SENDER, None),
    ("do_not_reply", message("do_not_reply@bank.pl"), Verdict.MACHINE_SENDER, None),
    ("list owner", message("owner-klienci@lists.pl"), Verdict.MACHINE_SENDER, None),
    ("list request", message("klienci-request@lists.pl"), Verdict.MACHINE_SENDER, None),
    (
        "bounce envelope",
        message(JAN, return_path="<bounce-123@esp.example.test>"),
        Verdict.MACHINE_SENDER,
        None,
    ),
    ("Bcc only", message(JAN, to="ktos@innafirma.pl"), Verdict.NOT_ADDRESSED, None),
    ("list copy", message(JAN, to="wszyscy@alfa.example.test"), Verdict.NOT_ADDRESSED, None),
]


@pytest.mark.parametrize(("case", "raw", "verdict", "recipient"), CASES, ids=[c[0] for c in CASES])
def test_whom_the_autoresponder_answers(
    case: str, raw: bytes, verdict: Verdict, recipient: str | None
) -> None:
    judgement = judge(_arrival(raw), ours=OURS, own=OWN)
    assert (judgement.verdict, judgement.recipient) == (verdict, recipient), case


@pytest.mark.parametrize(
    ("enabled", "start", "end", "text", "on"),
    [
        (True, None, None, "Jestem na urlopie.", True),
        (True, date(2026, 5, 1), date(2026, 5, 10), "x", True),
        (True, date(2026, 5, 5), date(2026, 5, 5), "x", True),  # both ends count
        (True, date(2026, 5, 6), None, "x", False),  # not started
        (True, None, date(2026, 5, 4), "x", False),  # over
        (False, None, None, "x", False),
        (True, None, None, "  ", False),  # nothing to say
    ],
)
def test_the_date_range_and_switch(
    enabled: bool, start: date | None, end: date | None, text: str, on: bool
) -> None:
    account = Account(
        autoresponder_enabled=enabled,
        autoresponder_from=start,
        autoresponder_until=end,
        autoresponder_text=text,
    )
    assert is_on(account, date(2026, 5, 5)) is on


@pytest.mark.parametrize(
    ("prefix", "original", "subject"),
    [
        ("", "Faktura 12/2026", "Auto: Faktura 12/2026"),
        ("Nieobecność", "Faktura 12/2026", "Nieobecność: Faktura 12/2026"),
        ("Urlop", "", "Urlop"),
        ("Urlop", "Re:\t wielo\r\n linijkowy", "Urlop: Re: wielo linijkowy"),
    ],
)
def test_the_answers_subject(prefix: str, original: str, subject: str) -> None:
    assert answer_subject(prefix, original) == subject


@pytest.fixture
def account_id(runtime: Runtime, tenant: Tenant) -> int:
    account = make_account(
        runtime,
        tenant.company_id,
        email_address=ACCOUNT,
        display_name="Biuro Alfa",
        signature_html="<p>Biuro Rachunkowe Alfa</p>",
    )
    set_account(
        runtime,
        tenant.company_id,
        account,
        autoresponder_enabled=True,
        autoresponder_subject="Nieobecność",
        autoresponder_text="Jestem na urlopie do 10 maja.",
    )
    with runtime.tenant(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        assert company is not None
        company.email_mode = EmailMode.OWN
    return account


def _queued(runtime: Runtime, tenant: Tenant) -> list[OutboxMessage]:
    with runtime.tenant(tenant.company_id) as session:
        found = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        for row in found:
            _ = (row.recipients, row.body)
        session.expunge_all()
        return found


def test_the_answer_is_queued_once_per_sender_with_rfc_3834_headers(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    first = message(
        JAN,
        message_id="<pierwsza@kowalski-serwis.pl>",
        headers={"References": "<wczesniej@kowalski-serwis.pl>"},
    )
    again = message(JAN, subject="Jeszcze jedno")
    other = message("Ola <ola@gmail.com>", return_path="<ola@gmail.com>")
    arrive(runtime, tenant.company_id, account_id, [first, again, other])

    queued = _queued(runtime, tenant)
    assert [r.recipients[0].address for r in queued] == ["jan@kowalski-serwis.pl", "ola@gmail.com"]
    answer = queued[0]
    assert answer.status is MessageStatus.QUEUED and answer.account_id == account_id
    assert answer.envelope_from == ACCOUNT and answer.created_by_user_id is None
    assert answer.subject == "Nieobecność: Zapytanie o fakturę"
    mime = email.message_from_bytes(answer.body.mime, policy=policy.default)
    assert mime["Auto-Submitted"] == "auto-replied"
    assert mime["In-Reply-To"] == "<pierwsza@kowalski-serwis.pl>"
    assert mime["References"].split() == [
        "<wczesniej@kowalski-serwis.pl>",
        "<pierwsza@kowalski-serwis.pl>",
    ]
    assert mime["From"] == f"Biuro Alfa <{ACCOUNT}>" and mime["To"] == "jan@kowalski-serwis.pl"
    text = mime.get_body(("plain",))
    assert text is not None and "Jestem na urlopie do 10 maja." in text.get_content()
    assert "Biuro Rachunkowe Alfa" in text.get_content()  # the account's signature (A8)

    # A later fetch within the period: not again.
    arrive(runtime, tenant.company_id, account_id, [message(JAN, subject="Trzecia")])
    assert len(_queued(runtime, tenant)) == 2


def test_after_the_period_the_sender_is_answered_again(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    arrive(runtime, tenant.company_id, account_id, [message(JAN)])
    with runtime.tenant(tenant.company_id) as session:
        (row,) = session.scalars(select(AutoreplySent))
        assert row.sender == "jan@kowalski-serwis.pl"
        row.replied_at = datetime.now(UTC) - timedelta(days=4, minutes=1)  # the default period
    arrive(runtime, tenant.company_id, account_id, [message(JAN)])
    assert len(_queued(runtime, tenant)) == 2
    assert len(rows(runtime, tenant.company_id, AutoreplySent)) == 1


def test_a_new_absence_answers_a_sender_answered_before_it_began(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    arrive(runtime, tenant.company_id, account_id, [message(JAN)])
    with runtime.tenant(tenant.company_id) as session:
        (row,) = session.scalars(select(AutoreplySent))
        row.replied_at = datetime.now(UTC) - timedelta(days=3)  # within the 4-day period
    today = datetime.now(ZoneInfo(runtime.settings.local_timezone)).date()
    set_account(runtime, tenant.company_id, account_id, autoresponder_from=today)
    arrive(runtime, tenant.company_id, account_id, [message(JAN)])
    assert len(_queued(runtime, tenant)) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"autoresponder_enabled": False},
        {"autoresponder_until": date.today() - timedelta(days=2)},
        {"autoresponder_from": date.today() + timedelta(days=2)},
    ],
)
def test_nothing_is_queued_when_off_or_outside_the_dates(
    runtime: Runtime, tenant: Tenant, account_id: int, change: dict[str, object]
) -> None:
    set_account(runtime, tenant.company_id, account_id, **change)
    arrive(runtime, tenant.company_id, account_id, [message(JAN)])
    assert _queued(runtime, tenant) == []


def test_nothing_is_sent_while_the_company_has_email_off(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    with runtime.tenant(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        assert company is not None
        company.email_mode = EmailMode.OFF
    arrive(runtime, tenant.company_id, account_id, [message(JAN)])
    assert _queued(runtime, tenant) == []


def test_history_junk_and_filed_copies_are_not_answered(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    arrive(runtime, tenant.company_id, account_id, [message(JAN)], from_history=True)
    arrive(
        runtime, tenant.company_id, account_id, [message(JAN)], path="Spam", role=FolderRole.JUNK
    )
    arrive(
        runtime, tenant.company_id, account_id, [message(JAN)], path="Sent", role=FolderRole.SENT
    )
    assert _queued(runtime, tenant) == []


def test_a_message_id_that_is_not_one_is_left_out_of_the_threading(
    runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    arrive(runtime, tenant.company_id, account_id, [message(JAN, message_id="bez-malpy")])
    (answer,) = _queued(runtime, tenant)
    mime = email.message_from_bytes(answer.body.mime, policy=policy.default)
    assert mime["In-Reply-To"] is None and mime["Auto-Submitted"] == "auto-replied"
