"""New-mail rules against the real servers: a Postfix bounce marks our outbox message, and an
autoresponder answer reaches the sender's mailbox on Dovecot through the worker's delivery."""

from __future__ import annotations

import email
import uuid
from email import policy

from sqlalchemy import select

from postroom.db.models import Company
from postroom.db.models_crm import Contact, Notification, Task
from postroom.db.models_outbox import OutboxMessage
from postroom.enums import AuthMethod, EmailMode, MessageStatus, RecipientStatus, Security
from postroom.services.runtime import Runtime
from tests.api.helpers import mailbox
from tests.fixtures.mailenv import MailEnv
from tests.newmail.mailenv_fetch import fetch_inbox, receive, wait_for_inbox
from tests.newmail.support import message, rows, set_account
from tests.support import MAILBOX_PASSWORD, Tenant
from tests.worker.outbox_support import (
    enqueue,
    imap_fields,
    load,
    make_account,
    run_engine,
    wait_for_file_with,
)
from tests.worker.test_bounces_mailenv import _ghost


def _connected_account(runtime: Runtime, tenant: Tenant, mailenv: MailEnv, address: str) -> int:
    """An account on the local servers: sends through Postfix, reads its Dovecot INBOX."""
    mailbox(mailenv, address)
    return make_account(
        runtime,
        tenant.company_id,
        email_address=address,
        name="Biuro",
        smtp_host=mailenv.host,
        smtp_port=mailenv.submission_port,
        smtp_security=Security.STARTTLS,
        smtp_auth=AuthMethod.PASSWORD,
        smtp_username=address,
        password=MAILBOX_PASSWORD,
        **imap_fields(mailenv.host, mailenv.imaps_port, address, MAILBOX_PASSWORD),
    )


def test_a_fetched_postfix_bounce_marks_the_outbox_message_bounced(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    sender = f"faktury-{uuid.uuid4().hex[:8]}@example.test"
    account_id = _connected_account(runtime, tenant, mailenv, sender)
    set_account(runtime, tenant.company_id, account_id, create_contacts=True, create_tasks=True)
    ghost = _ghost(mailenv)
    sent_id = enqueue(runtime, tenant.company_id, account_id, [ghost], sender=sender)
    run_engine(runtime)
    assert load(runtime, tenant.company_id, sent_id).status is MessageStatus.SENT

    (report,) = wait_for_inbox(mailenv, sender, MAILBOX_PASSWORD, 1)
    assert b"multipart/report" in report.raw
    receive(runtime, tenant.company_id, account_id, [report])

    bounced = load(runtime, tenant.company_id, sent_id)
    assert bounced.status is MessageStatus.BOUNCED
    (recipient,) = bounced.recipients
    assert recipient.status is RecipientStatus.BOUNCED and "5.1.1" in (recipient.reply or "")
    # The report is bookkeeping of our own send: no contact, task or notification from it.
    assert rows(runtime, tenant.company_id, Contact) == []
    assert rows(runtime, tenant.company_id, Task) == []
    assert rows(runtime, tenant.company_id, Notification) == []


def test_an_autoresponder_answer_reaches_the_sender_once(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = f"biuro-{uuid.uuid4().hex[:8]}@example.test"
    sender = f"jan-{uuid.uuid4().hex[:8]}@example.test"
    mailbox(mailenv, sender)
    account_id = _connected_account(runtime, tenant, mailenv, address)
    set_account(
        runtime,
        tenant.company_id,
        account_id,
        autoresponder_enabled=True,
        autoresponder_subject="Nieobecność",
        autoresponder_text="Wracam 10 maja. W pilnych sprawach: sekretariat.",
    )
    with runtime.tenant(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        assert company is not None
        company.email_mode = EmailMode.OWN

    question = message(f"Jan <{sender}>", to=address, message_id="<pytanie-1@example.test>")
    mailenv.deliver(question, address, mail_from=sender)  # LMTP: Return-Path is the sender
    fetched = fetch_inbox(mailenv, address, MAILBOX_PASSWORD)
    receive(runtime, tenant.company_id, account_id, fetched)
    run_engine(runtime)

    arrived = wait_for_file_with(mailenv.maildir(sender), b"pytanie-1@example.test")
    answer = email.message_from_bytes(arrived.read_bytes(), policy=policy.default)
    assert answer["Auto-Submitted"] == "auto-replied"
    assert answer["In-Reply-To"] == "<pytanie-1@example.test>"
    assert answer["Subject"] == "Nieobecność: Zapytanie o fakturę"
    assert answer["From"].addresses[0].addr_spec == address
    assert answer["To"].addresses[0].addr_spec == sender
    body = answer.get_body(("plain",))
    assert body is not None and "Wracam 10 maja." in body.get_content()

    # The sender writes again within the period: no second answer.
    mailenv.deliver(
        message(f"Jan <{sender}>", to=address, subject="Ponaglenie"), address, mail_from=sender
    )
    later = fetch_inbox(
        mailenv, address, MAILBOX_PASSWORD, after_uid=max(m.uid or 0 for m in fetched)
    )
    assert len(later) == 1
    receive(runtime, tenant.company_id, account_id, later)
    with runtime.tenant(tenant.company_id) as session:
        sent = session.scalars(select(OutboxMessage)).all()
        assert len(sent) == 1 and sent[0].status is MessageStatus.SENT
