"""The template pages over plain HTTP: the preview fragment, the variables box, the test send,
archiving, and another company's templates."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from postroom.services.runtime import Runtime
from tests.api.sending_helpers import outbox_row, turn_email_on
from tests.services.relay_support import set_company
from tests.support import Tenant
from tests.templates.support import INVOICE_HTML, INVOICE_SUBJECT, make_template
from tests.web.conftest import web_login

FORM = {"name": "Faktura", "document_kind": "invoice", "subject": INVOICE_SUBJECT}


def _preview(client: TestClient, csrf: str, variables: str, **fields: str) -> str:
    data = {**FORM, "html": INVOICE_HTML, "text": "", "variables": variables, **fields}
    response = client.post("/templates/preview", data=data, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    return response.text


def test_the_preview_takes_json_or_name_value_lines(client: TestClient, tenant: Tenant) -> None:
    csrf = web_login(client, tenant.admin)
    lines = "invoice_no=FV/1\nclient.name=Gamma\nclient.nip=525\namount=10\ndue=2026-11-23"
    as_json = (
        '{"invoice_no": "FV/1", "client": {"name": "Gamma", "nip": "525"}, '
        '"amount": 10, "due": "2026-11-23"}'
    )
    for variables in (lines, as_json):
        page = _preview(client, csrf, variables)
        assert '<dd id="preview-subject">Faktura FV/1 dla Gamma</dd>' in page
        assert "23.11.2026" in page
    english = _preview(client, csrf, as_json, language="en")
    assert "23 Nov 2026" in english


def test_the_preview_explains_what_is_wrong_in_polish(client: TestClient, tenant: Tenant) -> None:
    csrf = web_login(client, tenant.admin)
    cases = [
        ("invoice_no=FV/1\nwhat is this", "Wiersz 2: wpisz nazwa=wartość"),
        ('{"invoice_no": ', "Niepoprawny JSON (wiersz 1)"),
        ("[1, 2]", "Wiersz 1: wpisz nazwa=wartość"),
        ("invoice_no=FV/1", "Wiersz 1, temat: zmienna „client” nie ma wartości."),
    ]
    for variables, shown in cases:
        page = _preview(client, csrf, variables)
        assert 'id="preview-error"' in page
        assert shown in page, (variables, page)
    unsafe = _preview(client, csrf, "", subject="S", html="{{ ''.__class__ }}")
    assert "Wiersz 1, treść HTML: tego nie wolno w szablonie" in unsafe


def test_the_preview_needs_the_sessions_csrf_token(client: TestClient, tenant: Tenant) -> None:
    web_login(client, tenant.admin)
    data = {**FORM, "html": "x", "text": "", "variables": ""}
    response = client.post("/templates/preview", data=data, headers={"X-CSRF-Token": "forged"})
    assert response.status_code == 403


def test_a_test_from_the_page_is_queued_to_the_visitor(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    made = make_template(client, tenant.admin)
    csrf = web_login(client, tenant.admin)
    form = {
        "csrf_token": csrf,
        **FORM,
        "html": INVOICE_HTML,
        "text": "",
        "variables": "invoice_no=FV/1\nclient.name=Gamma\nclient.nip=1\namount=5\ndue=2026-01-02",
    }
    refused = client.post(f"/templates/{made['id']}/test", data=form)
    assert refused.status_code == 422  # e-mail is off for the company (B6)
    assert 'id="test-error"' in refused.text
    assert "invoice_no=FV/1" in refused.text  # the variables are kept

    turn_email_on(client, tenant.admin, "relay")
    runtime.settings.relay_host = "relay.platform.example.test"
    runtime.settings.relay_from_address = "relay@platform.example.test"
    set_company(runtime, tenant.company_id, verified=True)
    sent = client.post(f"/templates/{made['id']}/test", data=form, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    found = re.search(r"\?test=(\d+)$", sent.headers["location"])
    assert found is not None
    row = outbox_row(runtime, tenant, int(found[1]))
    assert [r.address for r in row.recipients] == [tenant.admin.email]
    assert row.subject == "Faktura FV/1 dla Gamma"
    page = client.get(sent.headers["location"]).text
    assert 'id="test-notice"' in page


def test_archive_and_restore_from_the_pages(client: TestClient, tenant: Tenant) -> None:
    made = make_template(client, tenant.admin)
    csrf = web_login(client, tenant.admin)
    assert "Faktura" in client.get("/templates").text
    archived = client.post(f"/templates/{made['id']}/archive", data={"csrf_token": csrf})
    assert archived.url.path == "/templates"
    assert f'data-template-id="{made["id"]}"' not in archived.text
    assert f'data-template-id="{made["id"]}"' in client.get("/templates?archived=1").text
    restored = client.post(f"/templates/{made['id']}/restore", data={"csrf_token": csrf})
    assert 'id="restore-template"' not in restored.text
    assert 'id="archive-template"' in restored.text


def test_another_companys_template_is_not_found(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = make_template(client, other_tenant.admin, name="Beta: wypłaty")
    csrf = web_login(client, tenant.admin)
    for path in (f"/templates/{theirs['id']}", f"/templates/{theirs['id']}/versions/1"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Beta" not in response.text
    for action in ("archive", "restore", "test"):
        response = client.post(f"/templates/{theirs['id']}/{action}", data={"csrf_token": csrf})
        assert response.status_code == 404, action
    saved = client.post(
        f"/templates/{theirs['id']}",
        data={"csrf_token": csrf, **FORM, "html": "Hacked", "text": ""},
    )
    assert saved.status_code == 404
    assert "Beta" not in client.get("/templates").text
