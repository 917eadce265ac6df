"""The compose page over plain HTTP: the From picker, sending, refusals, drafts and autosave."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from postroom.config import Settings
from postroom.db.models import AccountGrant, User
from postroom.enums import DocumentKind, EmailMode, MessageStatus
from postroom.services import routing
from postroom.services.runtime import Runtime
from tests.api.sending_helpers import received
from tests.mail.mime_support import PDF_HEADER
from tests.services.relay_support import Sent, add_sent, with_relay
from tests.support import Tenant
from tests.web.conftest import web_login
from tests.web.sending_support import (
    add_account,
    add_project,
    drafts_of,
    email_on,
    message_row,
    offered,
    selected_sender,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """This installation has a platform relay (a name nobody contacts in these tests)."""
    return with_relay(settings)


def _form(token: str, **fields: str) -> dict[str, str]:
    base = {"csrf_token": token, "to": "", "cc": "", "bcc": "", "subject": "", "text": ""}
    return {**base, "document_kind": "other", "project_id": "", "sender": "", **fields}


def _senders(runtime: Runtime, tenant: Tenant, user_id: int, project: int | None) -> list[Any]:
    with runtime.tenant(tenant.company_id) as session:
        user = session.get(User, user_id)
        assert user is not None
        return routing.list_senders(
            session, actor=user, project_id=project, settings=runtime.settings
        )


def _values(options: list[Any]) -> list[tuple[str, str]]:
    return [
        ("relay" if o.account_id is None else f"account:{o.account_id}", o.address) for o in options
    ]


def test_the_from_picker_offers_what_the_rules_offer_for_each_project(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant, EmailMode.RELAY)
    user = tenant.add_user()
    gamma = add_project(runtime, tenant, "Klient Gamma")
    add_account(runtime, tenant, "biuro@alfa.example.test")
    project_account = add_account(runtime, tenant, "gamma@alfa.example.test", project=gamma)
    add_account(runtime, tenant, "kolega@alfa.example.test", owner=tenant.admin.id)
    web_login(client, user)

    outside = client.get("/compose").text
    assert offered(outside) == _values(_senders(runtime, tenant, user.id, None))
    assert [address for _, address in offered(outside)] == [
        "biuro@alfa.example.test",
        "relay@platform.example.test",
    ]
    assert selected_sender(outside) == offered(outside)[0][0]  # the rules' first choice
    assert "zostało 50 z 50 dokumentów" in outside  # the relay with what is left of its limit

    inside = client.get(f"/compose/senders?project_id={gamma}&sender=").text
    assert offered(inside) == _values(_senders(runtime, tenant, user.id, gamma))
    assert selected_sender(inside) == f"account:{project_account}"  # the project's own first
    kept = client.get(f"/compose/senders?project_id={gamma}&sender=relay&sender_picked=1").text
    assert selected_sender(kept) == "relay"  # picked by the user and still offered: it stays
    preselected = client.get(f"/compose/senders?project_id={gamma}&sender=relay").text
    assert selected_sender(preselected) == f"account:{project_account}"


def test_a_colleagues_shared_account_is_offered_but_never_preselected(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant)
    user = tenant.add_user()
    colleague = tenant.add_user()
    shared = add_account(
        runtime,
        tenant,
        "kolega@alfa.example.test",
        owner=colleague.id,
        grants=[AccountGrant(user_id=user.id)],
    )
    web_login(client, user)
    page = client.get("/compose").text
    assert offered(page) == [(f"account:{shared}", "kolega@alfa.example.test")]
    assert "— udostępnione Tobie" in page
    assert '<option value="" selected>Wybierz nadawcę</option>' in page


def test_with_email_off_the_page_says_why_and_offers_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    web_login(client, tenant.admin)
    page = client.get("/compose").text
    assert offered(page) == []
    assert 'id="sender-notice" data-code="email_off"' in page
    assert "Poczta e-mail jest wyłączona dla Twojej firmy" in page


def test_send_uploads_the_attachment_queues_the_message_and_drops_the_draft(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant)
    account = add_account(runtime, tenant, "biuro@alfa.example.test", owner=tenant.admin.id)
    token = web_login(client, tenant.admin)
    fields = _form(
        token,
        to="Jan Kowalski <jan@klient.example.test>, anna@klient.example.test",
        subject="Faktura 7/2026",
        text="Dzień dobry, w załączniku faktura.",
        document_kind="invoice",
        sender=f"account:{account}",
        action="send",
    )
    pdf = ("Faktura_7_2026.pdf", PDF_HEADER + b"faktura", "application/pdf")
    response = client.post("/compose", data=fields, files={"files": pdf}, follow_redirects=False)
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/outbox/(\d+)\?queued=1", response.headers["location"])
    assert found, response.headers["location"]
    row = message_row(runtime, tenant, int(found.group(1)))
    assert (row.status, row.account_id, row.document_kind) == (
        MessageStatus.QUEUED,
        account,
        DocumentKind.INVOICE,
    )
    assert [r.address for r in row.recipients] == [
        "jan@klient.example.test",
        "anna@klient.example.test",
    ]
    mime = received(row.body.mime)
    assert mime["To"] == "Jan Kowalski <jan@klient.example.test>, anna@klient.example.test"
    [attachment] = list(mime.iter_attachments())
    assert attachment.get_filename() == "Faktura_7_2026.pdf"
    assert attachment.get_content() == PDF_HEADER + b"faktura"
    assert drafts_of(runtime, tenant, tenant.admin.id) == []  # sending a draft deletes it

    timeline = client.get(response.headers["location"]).text
    assert "Wiadomość czeka w kolejce" in timeline and "W kolejce" in timeline


def test_attach_and_remove_keep_the_draft_and_show_name_and_size(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant)
    token = web_login(client, tenant.admin)
    fields = _form(token, to="jan@klient.example.test", subject="Umowa", action="attach")
    files = {"files": ("umowa.pdf", PDF_HEADER + b"x" * 3000, "application/pdf")}
    response = client.post("/compose", data=fields, files=files, follow_redirects=False)
    assert response.status_code == 303
    draft_url = response.headers["location"]
    page = client.get(draft_url).text
    assert '<span class="attachment-name">umowa.pdf</span>' in page
    assert '<span class="attachment-size muted small">3 KB</span>' in page
    file_id = re.search(r'name="attachment_ids" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    assert 'value="Umowa"' in page  # the typed subject came back with the draft

    draft_id = draft_url.rsplit("/", 1)[1]
    removed = _form(
        token, subject="Umowa", draft_id=draft_id, attachment_ids=file_id, remove=file_id
    )
    response = client.post("/compose", data=removed, follow_redirects=False)
    assert response.headers["location"] == draft_url  # the same draft
    assert "attachment-name" not in client.get(draft_url).text


def test_a_refused_address_is_shown_next_to_its_field_and_the_typed_text_stays(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant)
    add_account(runtime, tenant, "biuro@alfa.example.test")
    token = web_login(client, tenant.admin)
    typed = _form(
        token,
        to="jan@klient.example.test, jan@",
        subject="Przypomnienie o płatności",
        text="Treść, której nie wolno zgubić.",
        action="send",
    )
    response = client.post("/compose", data=typed)
    assert response.status_code == 422
    page = response.text
    assert (
        '<p class="field-error" id="err-to">„jan@” nie jest poprawnym adresem e-mail.</p>' in page
    )
    assert 'value="jan@klient.example.test, jan@"' in page
    assert 'value="Przypomnienie o płatności"' in page
    assert ">Treść, której nie wolno zgubić.</textarea>" in page
    # Nothing was queued, and what was typed is a draft now.
    [(draft_id, draft)] = drafts_of(runtime, tenant, tenant.admin.id)
    assert draft.text == "Treść, której nie wolno zgubić."
    assert f'name="draft_id" value="{draft_id}"' in page


def test_no_recipient_is_a_refusal_of_the_to_field(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant)
    add_account(runtime, tenant, "biuro@alfa.example.test")
    token = web_login(client, tenant.admin)
    response = client.post("/compose", data=_form(token, subject="Bez adresata", action="send"))
    assert response.status_code == 422
    assert "Podaj co najmniej jednego odbiorcę (Do, DW lub UDW)." in response.text


def test_a_relay_refusal_says_how_to_lift_it(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant, EmailMode.RELAY)
    with runtime.tenant(tenant.company_id) as session:
        add_sent(session, Sent(50))  # the default limit of 50 documents is used up
    token = web_login(client, tenant.admin)
    fields = _form(
        token,
        to="jan@klient.example.test",
        subject="Faktura 51",
        document_kind="invoice",
        sender="relay",
        action="send",
    )
    response = client.post("/compose", data=fields)
    assert response.status_code == 403
    assert 'id="send-refused" data-code="relay_limit_reached"' in response.text
    assert "wykorzystała limit 50 dokumentów" in response.text
    assert "Podłącz własną skrzynkę (SMTP)" in response.text
    assert 'value="Faktura 51"' in response.text
    assert "zostało 0 z 50 dokumentów" in response.text


def test_autosave_creates_the_draft_then_saves_over_it(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant)
    token = web_login(client, tenant.admin)
    headers = {"HX-Request": "true"}
    first = client.post(
        "/compose/draft",
        data=_form(token, subject="Wersja 1", cc="a@b.example.test"),
        headers=headers,
    )
    assert first.status_code == 200
    draft_id = re.search(r'name="draft_id" value="(\d+)"', first.text).group(1)  # type: ignore[union-attr]
    assert first.headers["HX-Replace-Url"] == f"/compose/{draft_id}"
    assert "Szkic zapisany" in first.text

    second = client.post(
        "/compose/draft",
        data=_form(token, subject="Wersja 2", text="Dłuższa treść", draft_id=draft_id),
        headers=headers,
    )
    assert f'name="draft_id" value="{draft_id}"' in second.text
    [(saved_id, draft)] = drafts_of(runtime, tenant, tenant.admin.id)
    assert (str(saved_id), draft.subject, draft.text, draft.cc) == (
        draft_id,
        "Wersja 2",
        "Dłuższa treść",
        [],
    )
    reopened = client.get(f"/compose/{draft_id}").text
    assert 'value="Wersja 2"' in reopened and ">Dłuższa treść</textarea>" in reopened


def test_autosave_after_logout_says_so_instead_of_leaving_the_page(
    client: TestClient, tenant: Tenant
) -> None:
    token = web_login(client, tenant.admin)
    client.post("/logout", data={"csrf_token": token})
    response = client.post("/compose/draft", data=_form(token, subject="x"))
    assert response.status_code == 200
    assert "Szkic nie został zapisany: nastąpiło wylogowanie." in response.text
    assert "HX-Redirect" not in response.headers


def test_a_draft_made_through_the_api_keeps_its_html_when_saved_from_the_page(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    email_on(runtime, tenant)
    created = client.post(
        "/api/v1/drafts",
        headers=tenant.admin.headers,
        json={"subject": "Z ERP", "html": "<p>Faktura</p>", "in_reply_to": "<a.1@klient.test>"},
    ).json()
    token = web_login(client, tenant.admin)
    page = client.get(f"/compose/{created['id']}").text
    kept = re.search(r'name="kept" value="([^"]*)"', page).group(1)  # type: ignore[union-attr]
    kept = kept.replace("&#34;", '"').replace("&lt;", "<").replace("&gt;", ">")
    client.post(
        "/compose/draft",
        data=_form(token, subject="Z ERP, poprawione", kept=kept, draft_id=str(created["id"])),
    )
    [(_, draft)] = drafts_of(runtime, tenant, tenant.admin.id)
    assert (draft.subject, draft.html, draft.in_reply_to) == (
        "Z ERP, poprawione",
        "<p>Faktura</p>",
        "<a.1@klient.test>",
    )


def test_drafts_are_their_users_own(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    email_on(runtime, tenant)
    colleague = tenant.add_user()
    theirs = client.post(
        "/api/v1/drafts", headers=colleague.headers, json={"subject": "Prywatny szkic"}
    ).json()["id"]
    foreign = client.post(
        "/api/v1/drafts", headers=other_tenant.admin.headers, json={"subject": "Beta"}
    ).json()["id"]
    token = web_login(client, tenant.admin)
    for draft_id in (theirs, foreign):
        response = client.get(f"/compose/{draft_id}")
        assert response.status_code == 404 and "Nie znaleziono" in response.text
        deleted = client.post(f"/drafts/{draft_id}/delete", data={"csrf_token": token})
        assert deleted.status_code == 404
    listing = client.get("/drafts").text
    assert "Prywatny szkic" not in listing and "Beta" not in listing
    # Saving over someone else's draft id makes a new draft of one's own instead.
    client.post("/compose/draft", data=_form(token, subject="Mój", draft_id=str(theirs)))
    assert [d.subject for _, d in drafts_of(runtime, tenant, colleague.id)] == ["Prywatny szkic"]
    assert [d.subject for _, d in drafts_of(runtime, tenant, tenant.admin.id)] == ["Mój"]


def test_compose_posts_need_the_csrf_token(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    token = web_login(client, tenant.admin)
    forged = {k: v for k, v in _form(token, subject="Obca strona").items() if k != "csrf_token"}
    assert client.post("/compose", data={**forged, "action": "send"}).status_code == 403
    refused = client.post("/compose/draft", data={**forged, "csrf_token": "forged"})
    assert "Szkic nie został zapisany" in refused.text
    assert drafts_of(runtime, tenant, tenant.admin.id) == []
