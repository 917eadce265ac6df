""" "Send a test to me": through the outbox, the sending rules and the real Postfix into the
user's own mailbox on Dovecot; the relay rules (B5) apply as they would to a campaign."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from postroom.services.runtime import Runtime
from tests.api.helpers import create_account, mailbox
from tests.api.sending_helpers import outbox_row, received, turn_email_on, upload
from tests.fixtures.mailenv import MailEnv
from tests.services.relay_support import set_company
from tests.support import Tenant
from tests.templates.support import INVOICE_ROW, make_template
from tests.worker.outbox_support import run_engine, wait_for_file_with


def test_the_test_lands_in_the_users_own_mailbox(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    turn_email_on(client, tenant.admin)
    create_account(client, tenant.admin, mailenv, email_address="biuro@alfa.example.test")
    mailbox(mailenv, tenant.admin.email)
    made = make_template(client, tenant.admin, text="Kwota {{ amount|money }} do {{ due|date }}.")
    stored = upload(client, tenant.admin)
    response = client.post(
        f"/api/v1/templates/{made['id']}/test",
        headers=tenant.admin.headers,
        json={"variables": INVOICE_ROW, "attachments": [{"file_id": stored["id"]}]},
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    row = outbox_row(runtime, tenant, queued["id"])
    assert [r.address for r in row.recipients] == [tenant.admin.email]
    assert (row.document_kind.value, row.from_own_template) == ("invoice", True)

    run_engine(runtime)
    arrived = wait_for_file_with(mailenv.maildir(tenant.admin.email), queued["message_id"].encode())
    message = received(arrived.read_bytes())
    assert message["Subject"] == "Faktura FV/7/2026 dla Gamma sp. z o.o."
    assert message["From"].addresses[0].addr_spec == "biuro@alfa.example.test"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "Kwota 1\xa0234,56\xa0zł do 23.11.2026." in text.get_content()
    assert "<b>FV/7/2026</b>" in html.get_content()
    assert [part.get_filename() for part in message.iter_attachments()] == [stored["filename"]]


def test_a_missing_variable_sends_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    turn_email_on(client, tenant.admin)
    made = make_template(client, tenant.admin)
    response = client.post(
        f"/api/v1/templates/{made['id']}/test",
        headers=tenant.admin.headers,
        json={"variables": {"invoice_no": "FV/1"}},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "undefined_variable"
    assert client.get("/api/v1/messages", headers=tenant.admin.headers).json()["total"] == 0


@pytest.mark.parametrize(
    ("kind", "verified", "status", "code"),
    [
        ("invoice", False, 403, "relay_requires_verification"),  # own template (B5)
        ("payslip", False, 403, "relay_requires_verification"),  # HR
        ("other", False, 202, None),  # a plain message is no document
        ("invoice", True, 202, None),
    ],
)
def test_the_relay_rules_apply_to_template_messages(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    kind: str,
    verified: bool,
    status: int,
    code: str | None,
) -> None:
    runtime.settings.relay_host = "relay.platform.example.test"
    runtime.settings.relay_from_address = "relay@platform.example.test"
    turn_email_on(client, tenant.admin, "relay")
    set_company(runtime, tenant.company_id, verified=verified)
    made = make_template(client, tenant.admin, document_kind=kind)
    response = client.post(
        f"/api/v1/templates/{made['id']}/test",
        headers=tenant.admin.headers,
        json={"variables": INVOICE_ROW},
    )
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["code"] == code
    else:
        row = outbox_row(runtime, tenant, response.json()["id"])
        assert row.via_relay is True
