"""Stored files (upload, download, delete, attach by id) and drafts (C4) over HTTP."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from postroom.services.runtime import Runtime
from tests.api.sending_helpers import (
    add_account,
    outbox_row,
    received,
    submit,
    turn_email_on,
    upload,
)
from tests.mail.mime_support import fake_pdf
from tests.support import Member, Tenant

PDF_NAME = "Faktura_1_2026_Łódź.pdf"


def _stored_files(runtime: Runtime) -> list[Path]:
    root = runtime.settings.data_dir / "files"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_download_and_delete_a_several_megabyte_pdf(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    pdf = fake_pdf(6 * 1024 * 1024 + 7)
    stored = upload(client, tenant.admin, PDF_NAME, pdf)
    assert stored["filename"] == PDF_NAME and stored["size"] == len(pdf)
    assert stored["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert stored["content_type"] == "application/pdf"
    headers = tenant.admin.headers
    assert client.get(f"/api/v1/files/{stored['id']}", headers=headers).json() == stored
    content = client.get(f"/api/v1/files/{stored['id']}/content", headers=headers)
    assert content.status_code == 200 and content.content == pdf
    assert content.headers["content-type"] == "application/pdf"
    assert (
        "filename*=utf-8''Faktura_1_2026_%C5%81%C3%B3d%C5%BA.pdf"
        in (content.headers["content-disposition"])
    )
    assert content.headers["x-content-type-options"] == "nosniff"
    (on_disk,) = _stored_files(runtime)
    assert on_disk.read_bytes() == pdf  # complete, under a random name
    assert client.get("/api/v1/files", headers=headers).json()["total"] == 1

    assert client.delete(f"/api/v1/files/{stored['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/files/{stored['id']}", headers=headers).status_code == 404
    assert _stored_files(runtime) == []


def test_the_type_is_guessed_from_the_name_when_the_client_says_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    stored = upload(client, tenant.admin, "lista.csv", b"a;b\n", "application/octet-stream")
    assert stored["content_type"] == "text/csv"


def test_an_upload_over_the_limit_is_refused_and_nothing_kept(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    runtime.settings.max_attachment_bytes = 4096
    response = client.post(
        "/api/v1/files",
        headers=tenant.admin.headers,
        files={"file": ("duży.pdf", b"x" * 4097, "application/pdf")},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "file"
    assert _stored_files(runtime) == []
    assert client.get("/api/v1/files", headers=tenant.admin.headers).json()["total"] == 0


def test_a_file_is_its_uploaders_and_the_administrators(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    turn_email_on(client, tenant.admin)
    add_account(runtime, tenant, "biuro@alfa.example.test")
    anna, piotr = tenant.add_user(), tenant.add_user()
    stored = upload(client, anna)
    path = f"/api/v1/files/{stored['id']}"
    assert client.get(path, headers=piotr.headers).status_code == 404
    assert client.get(path, headers=tenant.admin.headers).status_code == 200
    attach = {"to": ["jan@example.test"], "attachments": [{"file_id": stored["id"]}]}
    response = client.post("/api/v1/messages", headers=piotr.headers, json=attach)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "attachments[0]"
    assert client.delete(path, headers=piotr.headers).status_code == 404


def test_a_queued_message_keeps_its_attachment_when_the_file_is_deleted(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    turn_email_on(client, tenant.admin)
    add_account(runtime, tenant, "biuro@alfa.example.test")
    pdf = fake_pdf(3 * 1024 * 1024)
    stored = upload(client, tenant.admin, PDF_NAME, pdf)
    message = submit(
        client,
        tenant.admin,
        to=["jan@example.test"],
        attachments=[{"file_id": stored["id"], "filename": "FV_1_2026.pdf"}],
    )
    client.delete(f"/api/v1/files/{stored['id']}", headers=tenant.admin.headers)
    (attachment,) = received(
        outbox_row(runtime, tenant, message["id"]).body.mime
    ).iter_attachments()
    assert attachment.get_filename() == "FV_1_2026.pdf"
    assert attachment.get_content() == pdf


# Drafts


def _draft(client: TestClient, member: Member, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/drafts", headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_draft_is_saved_replaced_listed_and_deleted(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    account = add_account(runtime, tenant, "biuro@alfa.example.test")
    draft = _draft(
        client,
        tenant.admin,
        to=["jan@exa"],  # half-typed: a draft is not checked
        subject="Faktura",
        html="<p>Szkic</p>",
        account_id=account,
    )
    assert (draft["to"], draft["subject"], draft["account_id"]) == (["jan@exa"], "Faktura", account)
    path = f"/api/v1/drafts/{draft['id']}"
    saved = client.put(
        path,
        headers=tenant.admin.headers,
        json={"to": [{"address": "jan@example.test", "name": "Jan"}], "subject": "Faktura 1"},
    ).json()
    assert saved["to"] == [{"address": "jan@example.test", "name": "Jan"}]
    assert (saved["html"], saved["account_id"]) == (None, None)  # replaced, not merged
    assert saved["updated_at"] >= draft["updated_at"]
    assert client.get(path, headers=tenant.admin.headers).json() == saved
    listed = client.get("/api/v1/drafts", headers=tenant.admin.headers).json()
    assert [d["id"] for d in listed["items"]] == [draft["id"]] and listed["total"] == 1
    assert client.delete(path, headers=tenant.admin.headers).status_code == 204
    assert client.get(path, headers=tenant.admin.headers).status_code == 404


def test_a_draft_is_only_its_users(client: TestClient, tenant: Tenant) -> None:
    anna = tenant.add_user()
    draft = _draft(client, anna, subject="Prywatne")
    path = f"/api/v1/drafts/{draft['id']}"
    for method in ("GET", "PUT", "DELETE"):
        body = {"subject": "x"} if method == "PUT" else None
        answer = client.request(method, path, headers=tenant.admin.headers, json=body)
        assert answer.status_code == 404, method
    assert client.post(f"{path}/send", headers=tenant.admin.headers).status_code == 404
    assert client.get("/api/v1/drafts", headers=tenant.admin.headers).json()["total"] == 0


@pytest.mark.parametrize("field", ["account_id", "project_id"])
def test_a_draft_names_only_what_its_user_may_use(
    client: TestClient, runtime: Runtime, tenant: Tenant, field: str
) -> None:
    anna = tenant.add_user()
    colleague = add_account(runtime, tenant, "admin@alfa.example.test", owner=tenant.admin.id)
    value = colleague if field == "account_id" else 999999
    response = client.post("/api/v1/drafts", headers=anna.headers, json={field: value})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_sending_a_draft_queues_it_once_and_deletes_it(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    turn_email_on(client, tenant.admin)
    account = add_account(runtime, tenant, "biuro@alfa.example.test")
    stored = upload(client, tenant.admin, PDF_NAME, b"%PDF-1.4 faktura")
    draft = _draft(
        client,
        tenant.admin,
        to=["jan@example.test"],
        subject="Faktura 1/2026",
        text="W załączniku.",
        attachments=[{"file_id": stored["id"]}],
        account_id=account,
        document_kind="invoice",
    )
    path = f"/api/v1/drafts/{draft['id']}"
    sent = client.post(f"{path}/send", headers=tenant.admin.headers)
    assert sent.status_code == 202, sent.text
    row = outbox_row(runtime, tenant, sent.json()["id"])
    assert (row.subject, row.account_id, row.document_kind.value) == (
        "Faktura 1/2026",
        account,
        "invoice",
    )
    (attachment,) = received(row.body.mime).iter_attachments()
    assert attachment.get_filename() == PDF_NAME
    assert client.get(path, headers=tenant.admin.headers).status_code == 404
    again = client.post(f"{path}/send", headers=tenant.admin.headers)  # the answer was lost
    assert again.status_code == 202 and again.json() == sent.json()
    assert client.get("/api/v1/messages", headers=tenant.admin.headers).json()["total"] == 1


def test_a_draft_that_is_not_a_valid_message_stays_a_draft(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    turn_email_on(client, tenant.admin)
    add_account(runtime, tenant, "biuro@alfa.example.test")
    draft = _draft(client, tenant.admin, to=["jan@example.test", "niedokończony@"])
    sent = client.post(f"/api/v1/drafts/{draft['id']}/send", headers=tenant.admin.headers)
    assert sent.status_code == 422
    assert sent.json()["errors"][0]["field"] == "to[1]"
    path = f"/api/v1/drafts/{draft['id']}"
    assert client.get(path, headers=tenant.admin.headers).status_code == 200
    assert client.get("/api/v1/messages", headers=tenant.admin.headers).json()["total"] == 0


def test_a_file_whose_bytes_are_gone_is_reported_not_sent(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    turn_email_on(client, tenant.admin)
    add_account(runtime, tenant, "biuro@alfa.example.test")
    stored = upload(client, tenant.admin)
    (on_disk,) = _stored_files(runtime)
    on_disk.unlink()  # lost disk, or removed by hand
    content = client.get(f"/api/v1/files/{stored['id']}/content", headers=tenant.admin.headers)
    assert content.status_code == 404
    attach = {"to": ["jan@example.test"], "attachments": [{"file_id": stored["id"]}]}
    response = client.post("/api/v1/messages", headers=tenant.admin.headers, json=attach)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "file_missing"
