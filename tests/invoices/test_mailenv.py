"""A notice by e-mail end to end: the worker's job on the level's day, the outbox, the real
Postfix, and the message read back over IMAP from Dovecot with the invoice PDF byte for byte."""

from __future__ import annotations

import email
import imaplib
import os
import ssl
import time
from email import policy
from email.message import EmailMessage

from fastapi.testclient import TestClient

from postroom.db.models_outbox import OutboxMessage
from postroom.enums import AuthMethod, Security
from postroom.services.invoice_notices import SendResult
from postroom.services.runtime import Runtime
from tests.api.helpers import mailbox
from tests.api.sending_helpers import turn_email_on
from tests.fixtures.mailenv import MailEnv
from tests.invoices.support import (
    API,
    PDF_BYTES,
    communications,
    days,
    invoice_body,
    ok,
    register,
    send_on,
    upload,
)
from tests.mail.mime_support import PDF_HEADER
from tests.support import MAILBOX_PASSWORD, Tenant
from tests.worker.outbox_support import make_account, run_engine

SENDER = "biuro-monity@example.test"
CONTACT = "ksiegowosc-monit@example.test"


def _read_over_imap(mailenv: MailEnv, address: str, message_id: str) -> bytes:
    """The message as Dovecot serves it, waiting for Postfix to hand it over."""
    context = ssl.create_default_context(cafile=mailenv.ca_file)
    deadline = time.monotonic() + 30
    with imaplib.IMAP4_SSL(mailenv.host, mailenv.imaps_port, ssl_context=context) as imap:
        imap.login(address, MAILBOX_PASSWORD)
        while True:
            imap.select("INBOX")
            _, found = imap.search(None, "HEADER", "Message-ID", message_id)
            if found[0]:
                number = found[0].split()[-1]
                _, data = imap.fetch(number, "(BODY.PEEK[])")
                part = data[0]
                assert isinstance(part, tuple)
                return bytes(part[1])
            assert time.monotonic() < deadline, f"{message_id} never reached {address}"
            time.sleep(0.2)


def test_the_notice_arrives_by_email_with_the_invoice_pdf_byte_identical(
    api: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    turn_email_on(api, tenant.admin)
    for address in (SENDER, CONTACT):
        mailbox(mailenv, address)
    make_account(
        runtime,
        tenant.company_id,
        email_address=SENDER,
        display_name="Biuro Alfa",
        smtp_host=mailenv.host,
        smtp_port=mailenv.submission_port,
        smtp_security=Security.STARTTLS,
        smtp_auth=AuthMethod.PASSWORD,
        smtp_username=SENDER,
        password=MAILBOX_PASSWORD,
    )
    body = {"name": "Klient Sigma", "channel_email": True, "channel_webpush": False}
    client = ok(api.post(f"{API}/clients", headers=tenant.admin.headers, json=body), 201)
    contact = {"email": CONTACT, "name": "Anna Sigma", "client_id": client["id"]}
    ok(api.post(f"{API}/contacts", headers=tenant.admin.headers, json=contact), 201)
    # Binary content of every byte value, past the size where base64 lines wrap many times.
    pdf = PDF_BYTES + os.urandom(300_000) + b"\n%%EOF\n"
    assert pdf.startswith(PDF_HEADER)
    file_id = upload(api, tenant.admin, pdf, name="FV_7_2026_Łódź.pdf")
    invoice = register(
        api,
        tenant.admin,
        **invoice_body(client["id"], days(runtime, 3), number="FV/7/2026", file_id=file_id),
    )
    assert invoice["notices"][0]["send_on"] == days(runtime, 0).isoformat()

    assert send_on(runtime, days(runtime, 0)) == {SendResult.SENT: 1}
    mail_row = next(r for r in communications(runtime, tenant) if r.channel.value == "email")
    assert mail_row.recipients == [CONTACT]
    with runtime.tenant(tenant.company_id) as session:
        outbox = session.get(OutboxMessage, mail_row.outbox_message_id)
        assert outbox is not None
        assert outbox.document_kind.value == "payment_reminder"
        message_id = outbox.message_id
    run_engine(runtime)

    raw = _read_over_imap(mailenv, CONTACT, message_id)
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Przypomnienie o terminie płatności faktury FV/7/2026"
    assert CONTACT in message["To"]
    text = message.get_body(("plain",))
    assert text is not None
    assert "na kwotę 1\xa0234,50\xa0zł" in text.get_content()
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["FV_7_2026_Łódź.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_payload(decode=True) == pdf
