"""Delivery through the real Postfix submission into Dovecot, and the Sent copy on IMAP (C4)."""

from __future__ import annotations

import asyncio
import dataclasses

from postroom.autoconfig.presets import bundled_presets, parse_presets
from postroom.enums import AuthMethod, MessageStatus, RecipientStatus, Security, SentCopyStatus
from postroom.services.runtime import Runtime
from postroom.services.sent_copies import store_sent_copies
from tests.api.helpers import mailbox
from tests.fixtures.mailenv import MailEnv
from tests.support import MAILBOX_PASSWORD, Tenant
from tests.worker.outbox_support import (
    FAST,
    enqueue,
    files_with,
    imap_fields,
    load,
    make_account,
    run_engine,
    wait_for_file_with,
)

SENDER = "wysylka@example.test"
RECIPIENT = "odbiorca@example.test"


def _submission_account(runtime: Runtime, tenant: Tenant, mailenv: MailEnv, address: str) -> int:
    mailbox(mailenv, address)
    return make_account(
        runtime,
        tenant.company_id,
        email_address=address,
        smtp_host=mailenv.host,
        smtp_port=mailenv.submission_port,
        smtp_security=Security.STARTTLS,
        smtp_auth=AuthMethod.PASSWORD,
        smtp_username=address,
        password=MAILBOX_PASSWORD,
        **imap_fields(mailenv.host, mailenv.imaps_port, address, MAILBOX_PASSWORD),
    )


def test_a_message_reaches_the_recipients_mailbox(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    account = _submission_account(runtime, tenant, mailenv, SENDER)
    mailbox(mailenv, RECIPIENT)
    mid = enqueue(runtime, tenant.company_id, account, [RECIPIENT], sender=SENDER)
    run_engine(runtime)
    message = load(runtime, tenant.company_id, mid)
    assert message.status is MessageStatus.SENT, message.last_reply
    assert message.recipients[0].status is RecipientStatus.ACCEPTED
    assert message.attempts[0].code == 250
    assert message.sent_copy_status is SentCopyStatus.PENDING
    wait_for_file_with(mailenv.maildir(RECIPIENT), message.message_id.encode())


def test_the_sent_copy_is_appended_once(runtime: Runtime, tenant: Tenant, mailenv: MailEnv) -> None:
    account = _submission_account(runtime, tenant, mailenv, SENDER)
    mailbox(mailenv, RECIPIENT)
    mid = enqueue(runtime, tenant.company_id, account, [RECIPIENT], sender=SENDER)
    run_engine(runtime)
    needle = load(runtime, tenant.company_id, mid).message_id.encode()
    sent = mailenv.maildir(SENDER) / ".Sent"

    assert asyncio.run(store_sent_copies(runtime)) == 1
    assert load(runtime, tenant.company_id, mid).sent_copy_status is SentCopyStatus.DONE
    assert len(files_with(sent, needle)) == 1
    assert asyncio.run(store_sent_copies(runtime)) == 0  # nothing pending any more

    # A crash after the APPEND but before DONE was written: the next run finds the copy.
    with runtime.tenant(tenant.company_id) as session:
        from postroom.db.models_outbox import OutboxMessage

        row = session.get(OutboxMessage, mid)
        assert row is not None
        row.sent_copy_status = SentCopyStatus.PENDING
    asyncio.run(store_sent_copies(runtime))
    assert len(files_with(sent, needle)) == 1
    assert load(runtime, tenant.company_id, mid).sent_copy_status is SentCopyStatus.DONE


def test_no_sent_copy_where_the_provider_files_sent_mail(
    runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    address = "biuro@gmail-like.test"
    account = _submission_account(runtime, tenant, mailenv, address)
    mailbox(mailenv, RECIPIENT)
    gmail = next(p for p in bundled_presets() if p.id == "gmail")
    like = dataclasses.replace(gmail, id="gmail-like", domains=("gmail-like.test",))
    options = dataclasses.replace(FAST, presets=(*parse_presets(""), like))
    mid = enqueue(runtime, tenant.company_id, account, [RECIPIENT], sender=address)
    run_engine(runtime, options)
    message = load(runtime, tenant.company_id, mid)
    assert message.status is MessageStatus.SENT
    assert message.sent_copy_status is SentCopyStatus.NOT_NEEDED
    asyncio.run(store_sent_copies(runtime))
    assert files_with(mailenv.maildir(address) / ".Sent", message.message_id.encode()) == []
