"""A documents campaign end to end: each recipient's own invoice and PDF, through the real
Postfix into their Dovecot mailbox; the campaign completes when the outbox has sent them."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage

from fastapi.testclient import TestClient

from postroom.enums import AuthMethod, Security
from postroom.services.runtime import Runtime
from tests.api.helpers import mailbox
from tests.api.sending_helpers import turn_email_on, upload
from tests.campaigns.support import (
    campaign_messages,
    create_campaign,
    feed,
    get,
    make_template,
)
from tests.fixtures.mailenv import MailEnv
from tests.mail.mime_support import PDF_HEADER
from tests.support import MAILBOX_PASSWORD, Tenant
from tests.worker.outbox_support import files_with, make_account, run_engine, wait_for_file_with

SENDER = "faktury-kampania@example.test"
RECIPIENTS = ("kampania-jan@example.test", "kampania-ewa@example.test")


def test_each_recipient_gets_their_own_rendered_invoice_and_pdf(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    turn_email_on(client, tenant.admin)
    for address in (SENDER, *RECIPIENTS):
        mailbox(mailenv, address)
    account = make_account(
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
    template = make_template(client, tenant.admin)
    recipients = []
    for number, address in enumerate(RECIPIENTS, start=1):
        pdf = upload(
            client, tenant.admin, f"FV_{number}_2026.pdf", PDF_HEADER + bytes([number]) * 50
        )
        recipients.append(
            {
                "email": address,
                "name": f"Klient {number}",
                "variables": {"invoice_no": f"FV/{number}/2026", "amount": f"{number}23,45"},
                "attachment_file_ids": [pdf["id"]],
            }
        )
    created = create_campaign(
        client,
        tenant.admin,
        name="Faktury grudzień",
        template_id=template["id"],
        account_id=account,
        recipients=recipients,
        start=True,
    )
    assert feed(runtime, tenant, created["id"]).queued == 2
    run_engine(runtime)
    sent = campaign_messages(runtime, tenant, created["id"])
    for number, (address, outbox) in enumerate(zip(RECIPIENTS, sent, strict=True), start=1):
        needle = outbox.message_id.encode()  # the maildir keeps other runs' mail too
        found = wait_for_file_with(mailenv.maildir(address), needle)
        message = email.message_from_bytes(found.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        assert message["Subject"] == f"Faktura FV/{number}/2026"
        assert message["To"] == f"Klient {number} <{address}>"
        html = message.get_body(("html",))
        assert html is not None and f"{number}23,45 zł" in html.get_content()
        attachments = list(message.iter_attachments())
        assert [a.get_filename() for a in attachments] == [f"FV_{number}_2026.pdf"]
        assert attachments[0].get_content().endswith(bytes([number]) * 50)
        assert "List-Unsubscribe" not in message  # a document, not a newsletter
        assert len(files_with(mailenv.maildir(address), needle)) == 1
    feed(runtime, tenant, created["id"])
    body = get(client, tenant.admin, f"/campaigns/{created['id']}")
    assert body["status"] == "completed"
    assert body["progress"]["counts"]["sent"] == 2
