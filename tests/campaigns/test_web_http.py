"""The campaign pages over plain HTTP: the wizard's steps and their errors, the progress page
and its controls, another company's campaign, the survey results page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from postroom.services.runtime import Runtime
from tests.campaigns.support import create_campaign, feed, make_template, rows, sending_company
from tests.support import Tenant
from tests.web.conftest import web_login

_NEW_ID = re.compile(r"/campaigns/(\d+)/recipients")


def _wizard_to_recipients(client: TestClient, csrf: str, template: int) -> int:
    created = client.post(
        "/campaigns/new",
        data={
            "csrf_token": csrf,
            "name": "Faktury grudzień",
            "template_id": str(template),
            "kind": "documents",
            "questions": "",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    found = _NEW_ID.search(created.headers["location"])
    assert found
    return int(found.group(1))


def test_the_wizard_from_template_to_start(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    account = sending_company(client, tenant, runtime, email_address="biuro@alfa.example.test")
    template = make_template(client, tenant.admin)
    csrf = web_login(client, tenant.admin)
    campaign = _wizard_to_recipients(client, csrf, template["id"])
    pasted = (
        "email;name;invoice_no;amount\n"
        "jan@example.test;Jan;FV/1;100\n"
        "nie-adres;Anna;FV/2;200\n"
        "ewa@example.test;Ewa;;300\n"
    )
    added = client.post(
        f"/campaigns/{campaign}/recipients",
        data={"csrf_token": csrf, "pasted": pasted, "action": "add"},
        files={"file": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    page = client.get(f"/campaigns/{campaign}/recipients").text
    assert 'id="report-valid">1<' in page and 'id="report-invalid">2<' in page
    assert "nie jest poprawnym adresem e-mail" in page  # Polish, with the row number
    assert re.search(r'data-row="3"', page) and re.search(r'data-row="4"', page)
    assert "Szablon używa zmiennej „invoice_no”" in page
    sender = client.get(f"/campaigns/{campaign}/sender").text
    assert f'value="{account}"' in sender
    saved = client.post(
        f"/campaigns/{campaign}/sender",
        data={"csrf_token": csrf, "sender": str(account), "project_id": ""},
        follow_redirects=False,
    )
    assert saved.headers["location"] == f"/campaigns/{campaign}/schedule"
    late = client.post(
        f"/campaigns/{campaign}/schedule",
        data={"csrf_token": csrf, "start": "later", "scheduled_at": "jutro"},
    )
    assert late.status_code == 422
    client.post(f"/campaigns/{campaign}/schedule", data={"csrf_token": csrf, "start": "now"})
    confirm = client.get(f"/campaigns/{campaign}/confirm").text
    assert "biuro@alfa.example.test" in confirm and 'id="f-send-valid-only"' in confirm
    refused = client.post(f"/campaigns/{campaign}/start", data={"csrf_token": csrf})
    assert refused.status_code == 422 and 'id="start-error"' in refused.text
    started = client.post(
        f"/campaigns/{campaign}/start",
        data={"csrf_token": csrf, "send_valid_only": "on"},
        follow_redirects=False,
    )
    assert started.headers["location"] == f"/campaigns/{campaign}"
    assert feed(runtime, tenant, campaign).queued == 1
    progress = client.get(f"/campaigns/{campaign}").text
    assert 'data-count="queued"><strong>1<' in progress
    assert 'id="pause"' in progress and 'hx-trigger="every 2s"' in progress


def test_first_step_errors_are_shown_in_the_visitors_language(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin, kind="other")
    csrf = web_login(client, tenant.admin)
    empty = client.post("/campaigns/new", data={"csrf_token": csrf, "name": "", "template_id": ""})
    assert empty.status_code == 422
    assert "Nadaj kampanii nazwę." in empty.text and "Wybierz szablon." in empty.text
    bad = client.post(
        "/campaigns/new",
        data={
            "csrf_token": csrf,
            "name": "Ankieta",
            "template_id": str(template["id"]),
            "kind": "survey",
            "questions": "Jak się masz?\nsingle: Ocena? | tylko jedna",
        },
    )
    assert bad.status_code == 422
    assert "Wiersz 1: zacznij od" in bad.text and "Wiersz 2: pytanie z wyborem" in bad.text
    no_questions = client.post(
        "/campaigns/new",
        data={
            "csrf_token": csrf,
            "name": "Ankieta",
            "template_id": str(template["id"]),
            "kind": "survey",
            "questions": "",
        },
    )
    assert "Ankieta musi mieć co najmniej jedno pytanie." in no_questions.text


def test_controls_and_another_companys_campaign(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    template = make_template(client, tenant.admin)
    campaign = create_campaign(
        client,
        tenant.admin,
        name="Faktury",
        template_id=template["id"],
        recipients=rows(2),
        start=True,
    )["id"]
    csrf = web_login(client, tenant.admin)
    paused = client.post(f"/campaigns/{campaign}/pause", data={"csrf_token": csrf})
    assert paused.status_code == 200 and 'id="resume"' in paused.text  # after the redirect
    again = client.post(f"/campaigns/{campaign}/pause", data={"csrf_token": csrf})
    assert again.status_code == 200
    forged = client.post(f"/campaigns/{campaign}/cancel", data={"csrf_token": "x"})
    assert forged.status_code == 403
    client.post(f"/campaigns/{campaign}/cancel", data={"csrf_token": csrf})
    refused = client.post(f"/campaigns/{campaign}/resume", data={"csrf_token": csrf})
    assert refused.status_code == 409 and 'id="control-refused"' in refused.text
    client.cookies.clear()
    other_csrf = web_login(client, other_tenant.admin)
    for path in (
        f"/campaigns/{campaign}",
        f"/campaigns/{campaign}/recipients",
        f"/campaigns/{campaign}/survey",
        f"/campaigns/{campaign}/survey.csv",
        f"/campaigns/{campaign}/confirm",
    ):
        assert client.get(path).status_code == 404, path
    assert (
        client.post(f"/campaigns/{campaign}/cancel", data={"csrf_token": other_csrf}).status_code
        == 404
    )
    assert "Faktury" not in client.get("/campaigns").text
