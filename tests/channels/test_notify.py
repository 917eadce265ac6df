"""POST /clients/{id}/notify (F1): one call, every enabled channel, an outcome and a history
row each; e-mail through the real outbox into Dovecot."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from postroom.db.models import User
from postroom.db.models_channels import ClientCommunication, PushMessage, SmsMessage
from postroom.db.models_crm import Client, Notification
from postroom.db.models_outbox import OutboxMessage
from postroom.enums import AuthMethod, Security
from postroom.services import client_notify
from postroom.services.client_notify import ClientMessage
from postroom.services.runtime import Runtime
from tests.api.helpers import mailbox
from tests.api.sending_helpers import turn_email_on, upload
from tests.channels.support import (
    enable_office_sms,
    history,
    make_client,
    make_contact,
    notify,
    ok,
    outcomes_by_channel,
    patch_client,
    rows_of,
    subscribe_browser,
)
from tests.fixtures.mailenv import MailEnv
from tests.mail.mime_support import PDF_HEADER
from tests.support import MAILBOX_PASSWORD, Tenant
from tests.worker.outbox_support import make_account, run_engine, wait_for_file_with

SENDER = "biuro-powiadomienia@example.test"
CONTACTS = ("kontakt-anna@example.test", "kontakt-jan@example.test")


def _mail_account(runtime: Runtime, tenant: Tenant, mailenv: MailEnv) -> int:
    mailbox(mailenv, SENDER)
    return make_account(
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


def test_a_new_client_is_reached_in_app_and_push_only(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    created = make_client(api, tenant.admin)
    anna = make_contact(api, tenant.admin, created["id"], CONTACTS[0])
    jan = make_contact(api, tenant.admin, created["id"], CONTACTS[1])

    result = ok(notify(api, tenant.admin, created["id"], url="https://portal.example.test/vat"))

    outcomes = outcomes_by_channel(result)
    assert list(outcomes) == ["inapp", "webpush"]  # e-mail and SMS are off: no outcome
    assert outcomes["inapp"]["status"] == "delivered"
    assert outcomes["inapp"]["recipients"] == list(CONTACTS)
    assert outcomes["webpush"]["status"] == "skipped"
    assert "No browser has subscribed" in outcomes["webpush"]["detail"]
    feed = rows_of(runtime, tenant, Notification)
    assert [(n.contact_id, n.kind, n.title) for n in feed] == [
        (anna["id"], "client_message", "Termin płatności VAT"),
        (jan["id"], "client_message", "Termin płatności VAT"),
    ]
    assert feed[0].link == "https://portal.example.test/vat"
    assert feed[0].data == {
        "client_id": created["id"],
        "communication_id": outcomes["inapp"]["communication_id"],
    }
    listed = history(api, tenant.admin, created["id"])
    assert listed["total"] == 2
    assert {row["batch_key"] for row in listed["items"]} == {result["batch_key"]}
    by_id = {row["id"]: row for row in listed["items"]}
    skipped = by_id[outcomes["webpush"]["communication_id"]]
    assert (skipped["channel"], skipped["status"], skipped["source"]) == (
        "webpush",
        "skipped",
        "notify",
    )
    assert skipped["created_by_user_id"] == tenant.admin.id


def test_a_client_without_contacts_is_skipped_with_the_reason(
    api: TestClient, tenant: Tenant
) -> None:
    created = make_client(api, tenant.admin)
    outcomes = outcomes_by_channel(ok(notify(api, tenant.admin, created["id"])))
    assert outcomes["inapp"]["status"] == "skipped"
    assert "no contact persons" in outcomes["inapp"]["detail"]


def test_email_reaches_every_contact_through_the_outbox_with_the_attachment(
    api: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    turn_email_on(api, tenant.admin)
    _mail_account(runtime, tenant, mailenv)
    for address in CONTACTS:
        mailbox(mailenv, address)
    created = make_client(api, tenant.admin, channel_email=True, channel_webpush=False)
    for address in CONTACTS:
        make_contact(api, tenant.admin, created["id"], address)
    pdf = upload(api, tenant.admin, "Deklaracja_VAT.pdf", PDF_HEADER + b"vat" * 30)

    result = ok(
        notify(
            api,
            tenant.admin,
            created["id"],
            attachment_file_ids=[pdf["id"]],
            document_kind="crm_document",
            url="https://portal.example.test/d/1",
        )
    )

    mail = outcomes_by_channel(result)["email"]
    assert (mail["status"], mail["recipients"]) == ("queued", list(CONTACTS))
    row = rows_of(runtime, tenant, ClientCommunication, id=mail["communication_id"])[0]
    outbox = rows_of(runtime, tenant, OutboxMessage, id=row.outbox_message_id)[0]
    assert outbox.created_by_user_id == tenant.admin.id
    assert outbox.document_kind.value == "crm_document"
    run_engine(runtime)
    for address in CONTACTS:
        found = wait_for_file_with(mailenv.maildir(address), outbox.message_id.encode())
        message = email.message_from_bytes(found.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        assert message["Subject"] == "Termin płatności VAT"
        text = message.get_body(("plain",))
        assert text is not None
        assert "Prosimy o wpłatę do 25.11." in text.get_content()
        assert "https://portal.example.test/d/1" in text.get_content()
        assert [a.get_filename() for a in message.iter_attachments()] == ["Deklaracja_VAT.pdf"]
    # The history reads the outbox: the e-mail is now sent.
    listed = history(api, tenant.admin, created["id"], channel="email")
    assert [(r["status"], r["outbox_message_id"]) for r in listed["items"]] == [("sent", outbox.id)]
    assert history(api, tenant.admin, created["id"], status="sent")["total"] == 1


def test_a_refused_email_fails_alone_and_leaves_nothing_in_the_outbox(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    created = make_client(api, tenant.admin, channel_email=True)  # company e-mail is off
    make_contact(api, tenant.admin, created["id"], CONTACTS[0])

    outcomes = outcomes_by_channel(ok(notify(api, tenant.admin, created["id"])))

    assert outcomes["email"]["status"] == "failed"
    assert "e-mail" in outcomes["email"]["detail"].lower()
    assert outcomes["inapp"]["status"] == "delivered"  # the other channels still went
    assert rows_of(runtime, tenant, OutboxMessage) == []
    assert len(rows_of(runtime, tenant, Notification)) == 1
    row = rows_of(runtime, tenant, ClientCommunication, channel="email")[0]
    assert (row.status.value, row.detail) == ("failed", outcomes["email"]["detail"])


def test_automatic_email_goes_out_as_the_first_active_administrator(
    api: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv
) -> None:
    turn_email_on(api, tenant.admin)
    _mail_account(runtime, tenant, mailenv)
    created = make_client(api, tenant.admin, channel_email=True)
    make_contact(api, tenant.admin, created["id"], CONTACTS[0])

    with runtime.tenant(tenant.company_id) as session:
        client = session.get(Client, created["id"])
        assert client is not None
        outcomes = client_notify.notify_client(
            session,
            runtime=runtime,
            client=client,
            message=ClientMessage(subject="Przypomnienie ZUS", text="Termin: 20.11."),
            source="reminder",
            actor=None,
            batch_key="reminder:zus:2026-10",
        )
        assert [o.channel.value for o in outcomes] == ["email", "inapp", "webpush"]
    rows = rows_of(runtime, tenant, ClientCommunication, channel="email")
    assert (rows[0].source, rows[0].batch_key, rows[0].created_by_user_id) == (
        "reminder",
        "reminder:zus:2026-10",
        None,
    )
    outbox = rows_of(runtime, tenant, OutboxMessage)[0]
    assert outbox.created_by_user_id == tenant.admin.id


def test_nothing_is_written_when_the_callers_transaction_rolls_back(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    created = make_client(api, tenant.admin)
    make_contact(api, tenant.admin, created["id"], CONTACTS[0])

    class AbortError(Exception):
        pass

    with pytest.raises(AbortError), runtime.tenant(tenant.company_id) as session:
        client = session.get(Client, created["id"])
        admin = session.get(User, tenant.admin.id)
        assert client is not None
        client_notify.notify_client(
            session,
            runtime=runtime,
            client=client,
            message=ClientMessage(subject="S", text="T"),
            source="reminder",
            actor=admin,
        )
        raise AbortError  # e.g. the scheduler's unique "sent" row clashed
    assert rows_of(runtime, tenant, ClientCommunication) == []
    assert rows_of(runtime, tenant, Notification) == []


def test_sms_is_skipped_while_the_office_has_it_off(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    enable_office_sms(api, tenant.admin)
    created = make_client(api, tenant.admin, channel_sms=True)
    make_contact(api, tenant.admin, created["id"], CONTACTS[0], phone="600 100 200")
    ok(api.put("/api/v1/office/sms", headers=tenant.admin.headers, json={"enabled": False}))

    outcomes = outcomes_by_channel(ok(notify(api, tenant.admin, created["id"])))

    assert outcomes["sms"]["status"] == "skipped"
    assert outcomes["sms"]["detail"].startswith("SMS is off for the office")
    assert rows_of(runtime, tenant, SmsMessage) == []


def test_sms_goes_to_each_contact_with_a_phone_and_names_a_refused_number(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    enable_office_sms(api, tenant.admin)
    created = make_client(api, tenant.admin, channel_sms=True)
    anna = make_contact(api, tenant.admin, created["id"], CONTACTS[0], phone="600 100 200")
    make_contact(api, tenant.admin, created["id"], CONTACTS[1], phone="12")
    make_contact(api, tenant.admin, created["id"], "bez-telefonu@example.test")

    result = ok(notify(api, tenant.admin, created["id"], sms_text="VAT do 25.11. Biuro Alfa"))

    sms = outcomes_by_channel(result)["sms"]
    assert (sms["status"], sms["recipients"]) == ("queued", ["+48600100200"])
    assert sms["detail"].startswith("12: ")
    queued = rows_of(runtime, tenant, SmsMessage)
    assert [(q.to_number, q.contact_id, q.body, q.communication_id) for q in queued] == [
        ("+48600100200", anna["id"], "VAT do 25.11. Biuro Alfa", sms["communication_id"])
    ]


def test_sms_made_from_the_text_is_cut_short(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    enable_office_sms(api, tenant.admin)
    created = make_client(api, tenant.admin, channel_sms=True, channel_inapp=False)
    make_contact(api, tenant.admin, created["id"], CONTACTS[0], phone="+48 600 100 200")
    long_text = "Prosimy o dostarczenie dokumentów.\n" * 20

    ok(notify(api, tenant.admin, created["id"], text=long_text))

    body = rows_of(runtime, tenant, SmsMessage)[0].body
    assert body.startswith("Termin płatności VAT: Prosimy o dostarczenie dokumentów. Prosimy")
    assert "\n" not in body and body.endswith("…")
    assert len(body) <= client_notify.channels.SMS_CHARS


def test_sms_fails_when_no_number_can_be_used(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    enable_office_sms(api, tenant.admin)
    created = make_client(api, tenant.admin, channel_sms=True)
    make_contact(api, tenant.admin, created["id"], CONTACTS[0], phone="12")
    outcomes = outcomes_by_channel(ok(notify(api, tenant.admin, created["id"])))
    assert outcomes["sms"]["status"] == "failed"
    assert outcomes["sms"]["detail"].startswith("12: ")
    assert outcomes["inapp"]["status"] == "delivered"
    no_phone = make_client(api, tenant.admin, "Bez telefonu", channel_sms=True)
    make_contact(api, tenant.admin, no_phone["id"], CONTACTS[1])
    skipped = outcomes_by_channel(ok(notify(api, tenant.admin, no_phone["id"])))["sms"]
    assert skipped["status"] == "skipped" and "phone number" in skipped["detail"]


def test_web_push_is_queued_for_each_subscribed_browser(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    created = make_client(api, tenant.admin, channel_inapp=False)
    anna = make_contact(api, tenant.admin, created["id"], CONTACTS[0])
    make_contact(api, tenant.admin, created["id"], CONTACTS[1])  # has no browser subscribed
    first = subscribe_browser(runtime, tenant, created["id"], anna["id"], 1)
    second = subscribe_browser(runtime, tenant, created["id"], anna["id"], 2)

    result = ok(notify(api, tenant.admin, created["id"], url="https://portal.example.test/p"))

    push = outcomes_by_channel(result)["webpush"]
    assert (push["status"], push["recipients"]) == ("queued", [CONTACTS[0], CONTACTS[0]])
    queued = rows_of(runtime, tenant, PushMessage)
    assert [(m.subscription_id, m.communication_id) for m in queued] == [
        (first, push["communication_id"]),
        (second, push["communication_id"]),
    ]
    assert queued[0].payload["title"] == "Termin płatności VAT"
    assert queued[0].payload["url"] == "https://portal.example.test/p"


def test_a_client_with_every_channel_off_is_refused(api: TestClient, tenant: Tenant) -> None:
    created = make_client(api, tenant.admin, channel_inapp=False, channel_webpush=False)
    response = notify(api, tenant.admin, created["id"])
    assert response.status_code == 409
    assert response.json()["code"] == "no_channel_enabled"
    assert history(api, tenant.admin, created["id"])["total"] == 0


def test_bad_requests_are_refused_before_anything_is_recorded(
    api: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    created = make_client(api, tenant.admin, channel_email=True)
    unknown = notify(api, tenant.admin, created["id"], attachment_file_ids=[999_999])
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "attachment_file_ids[0]"
    assert notify(api, tenant.admin, created["id"], subject="").status_code == 422
    assert notify(api, tenant.admin, created["id"], text="").status_code == 422
    extra = notify(api, tenant.admin, created["id"], channels=["sms"])
    assert extra.status_code == 422
    assert rows_of(runtime, tenant, ClientCommunication) == []


def test_another_companys_client_and_files_are_not_found(
    api: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = make_client(api, other_tenant.admin, "Obcy", channel_email=True)
    make_contact(api, other_tenant.admin, theirs["id"], "obcy@example.test")
    assert notify(api, tenant.admin, theirs["id"]).status_code == 404
    communications = api.get(
        f"/api/v1/clients/{theirs['id']}/communications", headers=tenant.admin.headers
    )
    assert communications.status_code == 404
    their_file = upload(api, other_tenant.admin, "Obcy.pdf")
    mine = make_client(api, tenant.admin, channel_email=True)
    response = notify(api, tenant.admin, mine["id"], attachment_file_ids=[their_file["id"]])
    assert response.status_code == 422
    assert rows_of(runtime, other_tenant, ClientCommunication) == []
    anonymous = api.post(f"/api/v1/clients/{mine['id']}/notify", json={"subject": "S", "text": "T"})
    assert anonymous.status_code == 401


def test_history_pages_and_filters(api: TestClient, tenant: Tenant) -> None:
    created = make_client(api, tenant.admin)
    make_contact(api, tenant.admin, created["id"], CONTACTS[0])
    for number in range(3):
        ok(notify(api, tenant.admin, created["id"], subject=f"Wiadomość {number}"))
    page = history(api, tenant.admin, created["id"], limit=2, offset=0)
    assert (page["total"], len(page["items"])) == (6, 2)
    assert page["items"][0]["subject"] == "Wiadomość 2"  # newest first
    inapp = history(api, tenant.admin, created["id"], channel="inapp")
    assert [r["subject"] for r in inapp["items"]] == ["Wiadomość 2", "Wiadomość 1", "Wiadomość 0"]
    assert history(api, tenant.admin, created["id"], source="reminder")["total"] == 0
    assert history(api, tenant.admin, created["id"], status="skipped")["total"] == 3
    ok(patch_client(api, tenant.admin, created["id"], channel_webpush=False))
    ok(notify(api, tenant.admin, created["id"]))
    assert history(api, tenant.admin, created["id"])["total"] == 7


def test_only_the_session_company_sees_its_history_rows(
    api: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    created = make_client(api, tenant.admin)
    ok(notify(api, tenant.admin, created["id"]))
    with runtime.tenant(other_tenant.company_id) as session:
        assert list(session.scalars(select(ClientCommunication))) == []
