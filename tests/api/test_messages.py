"""POST /messages and reading back: committed before 202, refusals by field, idempotency, access."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from postroom.db.base import utcnow
from postroom.db.models_outbox import DeliveryAttempt, OutboxMessage
from postroom.enums import (
    AccessMode,
    AttemptOutcome,
    IncomingProtocol,
    MessageStatus,
    RecipientStatus,
)
from postroom.services.runtime import Runtime
from tests.api.sending_helpers import (
    add_account,
    outbox_row,
    received,
    submit,
    turn_email_on,
    upload,
)
from tests.mail.mime_support import display_name, fake_pdf, raw_headers, text_of
from tests.support import Member, Tenant

ACCOUNT = "biuro@alfa.example.test"


@pytest.fixture
def account_id(client: TestClient, runtime: Runtime, tenant: Tenant) -> int:
    turn_email_on(client, tenant.admin)
    return add_account(
        runtime,
        tenant,
        ACCOUNT,
        display_name="Biuro Rachunkowe Alfa",
        reply_to="ksiegowosc@alfa.example.test",
        header_html="<p><b>Alfa</b> sp. z o.o.</p>",
        signature_html="<p>Pozdrawiam<br>Anna Nowak</p>",
    )


def _post(client: TestClient, member: Member, **body: Any) -> Any:
    return client.post("/api/v1/messages", headers=member.headers, json=body)


def test_accepted_only_once_committed_with_the_whole_mime(
    client: TestClient, runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    before = utcnow()
    answer = submit(
        client,
        tenant.admin,
        to=["jan@example.test", {"address": "anna@example.test", "name": "Anna Żółw"}],
        cc=["biuro@klient.example.test"],
        bcc=["archiwum@alfa.example.test"],
        subject="Faktura nr 1/2026",
        html="<p>Dzień dobry,</p><p>w załączniku faktura.</p>",
        document_kind="invoice",
    )
    assert answer["status"] == "queued" and set(answer) == {"id", "status", "message_id"}
    row = outbox_row(runtime, tenant, answer["id"])  # a new session: it is committed
    assert row.message_id == answer["message_id"] and row.message_id.endswith("@alfa.example.test")
    assert (row.status, row.account_id, row.via_relay) == (MessageStatus.QUEUED, account_id, False)
    assert row.envelope_from == ACCOUNT and row.size == len(row.body.mime)
    assert before <= row.next_attempt_at <= utcnow()
    assert row.deadline_at - row.next_attempt_at == timedelta(hours=72)
    assert [(r.address, r.kind.value, r.status) for r in row.recipients] == [
        ("jan@example.test", "to", RecipientStatus.PENDING),
        ("anna@example.test", "to", RecipientStatus.PENDING),
        ("biuro@klient.example.test", "cc", RecipientStatus.PENDING),
        ("archiwum@alfa.example.test", "bcc", RecipientStatus.PENDING),
    ]
    message = received(row.body.mime)
    headers = raw_headers(row.body.mime)
    assert display_name(headers["from"]) == "Biuro Rachunkowe Alfa"
    assert message["Reply-To"] == "ksiegowosc@alfa.example.test"  # the account's (A1, C5)
    assert b"archiwum" not in row.body.mime
    assert text_of(message.get_body(("plain",))) == (
        "Alfa sp. z o.o.\n\nDzień dobry,\n\nw załączniku faktura.\n\n-- \nPozdrawiam\nAnna Nowak\n"
    )


def test_sent_copy_is_pending_only_for_imap_accounts(
    client: TestClient, runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    imap = add_account(
        runtime,
        tenant,
        "imap@alfa.example.test",
        incoming_protocol=IncomingProtocol.IMAP,
        incoming_host="imap.alfa.example.test",
        incoming_port=993,
    )
    plain = submit(client, tenant.admin, to=["j@example.test"], account_id=account_id)
    copied = submit(client, tenant.admin, to=["j@example.test"], account_id=imap)
    assert outbox_row(runtime, tenant, plain["id"]).sent_copy_status.value == "not_needed"
    assert outbox_row(runtime, tenant, copied["id"]).sent_copy_status.value == "pending"


def test_status_shows_recipients_and_attempts_with_server_replies(
    client: TestClient, runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    answer = submit(client, tenant.admin, to=["jan@example.test", "zly@example.test"])
    with runtime.tenant(tenant.company_id) as session:  # as the worker records an attempt
        row = session.get(OutboxMessage, answer["id"])
        assert row is not None
        row.status, row.attempt_count = MessageStatus.SENT, 1
        good, bad = row.recipients
        good.status, good.code, good.reply = RecipientStatus.ACCEPTED, 250, "2.1.5 Ok"
        bad.status, bad.code, bad.reply = RecipientStatus.REFUSED, 550, "5.1.1 User unknown"
        session.add(
            DeliveryAttempt(
                message_id=row.id,
                worker="w1",
                outcome=AttemptOutcome.SENT,
                code=250,
                reply="2.0.0 Ok: queued as 4Xy",
                finished_at=utcnow(),
            )
        )
    body = client.get(f"/api/v1/messages/{answer['id']}", headers=tenant.admin.headers).json()
    assert body["status"] == "sent" and body["sender"] == ACCOUNT
    assert [(r["address"], r["status"], r["code"], r["reply"]) for r in body["recipients"]] == [
        ("jan@example.test", "accepted", 250, "2.1.5 Ok"),
        ("zly@example.test", "refused", 550, "5.1.1 User unknown"),
    ]
    assert [(a["outcome"], a["code"], a["reply"]) for a in body["attempts"]] == [
        ("sent", 250, "2.0.0 Ok: queued as 4Xy")
    ]
    assert body["attempts"][0]["started_at"] and body["attempts"][0]["finished_at"]


def test_raw_is_the_stored_mime(
    client: TestClient, runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    answer = submit(client, tenant.admin, to=["jan@example.test"], subject="Zażółć")
    response = client.get(f"/api/v1/messages/{answer['id']}/raw", headers=tenant.admin.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "message/rfc822"
    assert response.content == outbox_row(runtime, tenant, answer["id"]).body.mime


def test_list_filters_and_pages(
    client: TestClient, runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    project = client.post(
        "/api/v1/projects", headers=tenant.admin.headers, json={"name": "Klient Gamma"}
    ).json()["id"]
    other = add_account(runtime, tenant, "kadry@alfa.example.test")
    ids = [
        submit(client, tenant.admin, to=["a@example.test"], document_kind="invoice")["id"],
        submit(client, tenant.admin, to=["a@example.test"], project_id=project)["id"],
        submit(client, tenant.admin, to=["a@example.test"], account_id=other)["id"],
    ]

    def listed(query: str) -> tuple[list[int], int]:
        body = client.get(f"/api/v1/messages?{query}", headers=tenant.admin.headers).json()
        return [item["id"] for item in body["items"]], body["total"]

    assert listed("") == (ids[::-1], 3)  # newest first
    assert listed("document_kind=invoice") == ([ids[0]], 1)
    assert listed(f"project_id={project}") == ([ids[1]], 1)
    assert listed(f"account_id={other}") == ([ids[2]], 1)
    assert listed("status=queued&limit=1&offset=1") == ([ids[1]], 3)
    assert listed("status=sent") == ([], 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "Faktura\r\nBcc: ofiara@example.test"}, "subject"),
        ({"subject": "Faktura\nX-Priority: 1"}, "subject"),
        ({"to": ["a@example.test", "b@example.test", "c@example.test\r\nBcc: x@x.test"]}, "to[2]"),
        ({"to": [{"address": "a@example.test", "name": "Jan\r\nBcc: x@x.test"}]}, "to[0].name"),
        ({"to": ["a@example.test"], "cc": ["nie-adres"]}, "cc[0]"),
        ({"to": []}, "to"),
        ({"reply_to": "odpowiedz@"}, "reply_to"),
        ({"in_reply_to": "<a@example.test>\r\nBcc: x@x.test"}, "in_reply_to"),
        ({"references": ["a@example.test", "bez małpy"]}, "references[1]"),
        ({"attachments": [{"file_id": 999999}]}, "attachments[0]"),
        ({"to": 5}, "to"),
        ({"project_id": 999999}, "project_id"),
        ({"account_id": 999999}, "account_id"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_refusals_name_the_field_and_keep_nothing(
    client: TestClient, tenant: Tenant, account_id: int, body: dict[str, Any], field: str
) -> None:
    request = {"to": ["jan@example.test"], "subject": "Faktura", "text": "x", **body}
    response = _post(client, tenant.admin, **request)
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
    assert "ofiara" not in response.text or field != "subject"  # values are not echoed
    listed = client.get("/api/v1/messages", headers=tenant.admin.headers).json()
    assert listed["total"] == 0


def test_limits_from_settings(
    client: TestClient, runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    runtime.settings.max_recipients = 2
    response = _post(
        client, tenant.admin, to=["a@example.test", "b@example.test"], bcc=["c@x.test"]
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["bcc[0]"]
    runtime.settings.max_attachment_bytes = 1000
    files = {"files": ("duży.pdf", b"x" * 1001, "application/pdf")}
    form = {"message": json.dumps({"to": ["a@example.test"]})}
    response = client.post("/api/v1/messages", headers=tenant.admin.headers, data=form, files=files)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["files[0]"]


def test_multipart_with_a_several_megabyte_pdf(
    client: TestClient, runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    pdf = fake_pdf(4 * 1024 * 1024 + 123)
    stored = upload(client, tenant.admin, "Umowa.pdf", b"%PDF-1.7 umowa")
    message = {
        "to": ["jan@example.test"],
        "subject": "Faktura",
        "text": "W załączniku.",
        "attachments": [{"file_id": stored["id"]}],
    }
    response = client.post(
        "/api/v1/messages",
        headers={**tenant.admin.headers, "Idempotency-Key": "erp-faktura-1"},
        data={"message": json.dumps(message)},
        files=[("files", ("Faktura_1_2026_Łódź.pdf", pdf, "application/pdf"))],
    )
    assert response.status_code == 202, response.text
    row = outbox_row(runtime, tenant, response.json()["id"])
    assert row.idempotency_key == "erp-faktura-1"
    attachments = list(received(row.body.mime).iter_attachments())
    assert [a.get_filename() for a in attachments] == ["Umowa.pdf", "Faktura_1_2026_Łódź.pdf"]
    assert attachments[0].get_content() == b"%PDF-1.7 umowa"
    assert hashlib.sha256(attachments[1].get_content()).digest() == hashlib.sha256(pdf).digest()


def test_idempotency_key_returns_the_same_message(
    client: TestClient, runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    body = {"to": ["jan@example.test"], "subject": "Faktura 7", "idempotency_key": "fv-7"}
    first = submit(client, tenant.admin, **body)
    assert submit(client, tenant.admin, **body) == first
    by_header = client.post(
        "/api/v1/messages",
        headers={**tenant.admin.headers, "Idempotency-Key": "fv-7"},
        json={"to": ["jan@example.test"], "subject": "Faktura 7"},
    )
    assert by_header.status_code == 202 and by_header.json() == first
    assert client.get("/api/v1/messages", headers=tenant.admin.headers).json()["total"] == 1

    changed = _post(client, tenant.admin, **{**body, "subject": "Faktura 8"})
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["code"] == "idempotency_key_reused"
    clash = client.post(
        "/api/v1/messages",
        headers={**tenant.admin.headers, "Idempotency-Key": "inny"},
        json=body,
    )
    assert clash.status_code == 422 and clash.json()["errors"][0]["field"] == "idempotency_key"
    colleague = tenant.add_user()
    theirs = _post(client, colleague, **body)
    assert theirs.status_code == 409 and theirs.json()["code"] == "idempotency_key_taken"


def test_a_reply_continues_the_thread(
    client: TestClient, runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    first = submit(client, tenant.admin, to=["jan@example.test"], subject="Faktura")
    reply = submit(
        client,
        tenant.admin,
        to=["jan@example.test"],
        subject="Re: Faktura",
        in_reply_to=f"<{first['message_id']}>",
    )
    second = submit(client, tenant.admin, to=["jan@example.test"], in_reply_to=reply["message_id"])
    message = received(outbox_row(runtime, tenant, second["id"]).body.mime)
    assert message["In-Reply-To"] == f"<{reply['message_id']}>"
    assert message["References"] == f"<{first['message_id']}> <{reply['message_id']}>"


def test_email_off_refuses_with_the_reason(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    add_account(runtime, tenant, ACCOUNT)
    response = _post(client, tenant.admin, to=["jan@example.test"])
    assert response.status_code == 403 and response.json()["code"] == "email_off"


def test_who_sees_a_message(
    client: TestClient, runtime: Runtime, tenant: Tenant, account_id: int
) -> None:
    """Its sender, users who may see the account it went from, and administrators."""
    anna, piotr, ewa = tenant.add_user(), tenant.add_user(), tenant.add_user()
    private = add_account(runtime, tenant, "anna@alfa.example.test", owner=anna.id)
    listed = add_account(runtime, tenant, "zarzad@alfa.example.test", access_mode=AccessMode.LISTED)
    sent = submit(client, anna, to=["jan@example.test"], account_id=private)
    board = submit(client, tenant.admin, to=["jan@example.test"], account_id=listed)

    def sees(member: Member, message: dict[str, Any]) -> bool:
        path = f"/api/v1/messages/{message['id']}"
        return client.get(path, headers=member.headers).status_code == 200

    assert sees(anna, sent) and sees(tenant.admin, sent) and not sees(piotr, sent)
    assert not sees(anna, board) and not sees(ewa, board)
    raw = client.get(f"/api/v1/messages/{sent['id']}/raw", headers=piotr.headers)
    assert raw.status_code == 404
    assert client.get("/api/v1/messages", headers=piotr.headers).json()["total"] == 0
    viewer = tenant.add_user(can_see_others_accounts=True)  # E2: sees colleagues' accounts
    assert sees(viewer, sent) and not sees(viewer, board)


def test_through_the_platform_relay(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    runtime.settings.relay_host = "relay.platform.example.test"
    runtime.settings.relay_from_address = "relay@platform.example.test"
    turn_email_on(client, tenant.admin, "relay")
    answer = submit(client, tenant.admin, to=["jan@example.test"], document_kind="invoice")
    row = outbox_row(runtime, tenant, answer["id"])
    assert (row.via_relay, row.account_id) == (True, None)
    assert row.envelope_from == "relay@platform.example.test"
    message = received(row.body.mime)
    # "<company> via <platform>": the relay address's own domain passes DMARC (issue 9).
    assert display_name(raw_headers(row.body.mime)["from"]) == "Biuro Rachunkowe Alfa via Postroom"
    assert message["From"].addresses[0].addr_spec == "relay@platform.example.test"
    assert message["Reply-To"] == tenant.admin.email  # replies reach the person (C5)
    assert row.message_id.endswith("@platform.example.test")


def test_another_company_cannot_name_our_rows(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    other_tenant: Tenant,
    account_id: int,
) -> None:
    """E3 for ids in request bodies: our file, account and thread are not theirs to use."""
    ours = upload(client, tenant.admin)
    first = submit(
        client, tenant.admin, to=["jan@example.test"], in_reply_to="<root@klient.example.test>"
    )
    turn_email_on(client, other_tenant.admin)
    add_account(runtime, other_tenant, "biuro@beta.example.test")
    them = other_tenant.admin
    for body, field in (
        ({"attachments": [{"file_id": ours["id"]}]}, "attachments[0]"),
        ({"account_id": account_id}, "account_id"),
    ):
        response = _post(client, them, to=["jan@example.test"], **body)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
        drafted = client.post("/api/v1/drafts", headers=them.headers, json=body)
        assert drafted.status_code == (422 if field == "account_id" else 201)
    reply = submit(client, them, to=["jan@example.test"], in_reply_to=first["message_id"])
    message = received(outbox_row(runtime, other_tenant, reply["id"]).body.mime)
    # Read from our message it would begin with <root@klient.example.test>.
    assert message["References"] == f"<{first['message_id']}>"


def test_other_content_types_are_refused(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/api/v1/messages",
        headers={**tenant.admin.headers, "Content-Type": "text/plain"},
        content=b"to: jan@example.test",
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
