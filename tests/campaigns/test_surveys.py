"""Surveys: per-recipient links, answers on the public page (changeable while open), results
in the API and as CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from postroom.db.models_campaigns import Campaign
from postroom.services.runtime import Runtime
from tests.campaigns.conftest import PUBLIC_URL
from tests.campaigns.support import (
    campaign_messages,
    create_campaign,
    feed,
    get,
    make_template,
    rows,
    sending_company,
)
from tests.support import Tenant

QUESTIONS = [
    {
        "kind": "single",
        "text": "Jak oceniasz obsługę?",
        "options": ["Dobrze", "Źle"],
        "required": True,
    },
    {"kind": "multiple", "text": "Które usługi?", "options": ["Kadry", "Płace", "VAT"]},
    {"kind": "text", "text": "Uwagi"},
]
_LINK = re.compile(rb"https://postroom\.example\.test/s/[A-Za-z0-9_-]+")


def _survey(
    client: TestClient, runtime: Runtime, tenant: Tenant, count: int
) -> tuple[int, list[str]]:
    sending_company(client, tenant, runtime)
    template = make_template(
        client,
        tenant.admin,
        name="Ankieta",
        kind="other",
        subject="Ankieta",
        html='<p>{{ name }}, <a href="{{ survey_link }}">odpowiedz</a></p>',
    )
    created = create_campaign(
        client,
        tenant.admin,
        name="Ankieta 2026",
        kind="survey",
        template_id=template["id"],
        questions=QUESTIONS,
        recipients=rows(count),
        start=True,
    )
    feed(runtime, tenant, created["id"])
    links = []
    for message in campaign_messages(runtime, tenant, created["id"]):
        body = message.body.mime.replace(b"=\r\n", b"")
        found = _LINK.search(body)
        assert found, body[-1500:]
        links.append(found.group(0).decode().removeprefix(PUBLIC_URL))
    return int(created["id"]), links


def _question_ids(client: TestClient, tenant: Tenant, campaign: int) -> list[int]:
    return [
        q["id"] for q in get(client, tenant.admin, f"/campaigns/{campaign}/survey")["questions"]
    ]


def test_answers_are_recorded_changed_and_counted(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    campaign, links = _survey(client, runtime, tenant, 3)
    q1, q2, q3 = _question_ids(client, tenant, campaign)
    page = client.get(links[0])
    assert page.status_code == 200 and "Jak oceniasz obsługę?" in page.text
    first = client.post(links[0], data={f"q{q1}": "Źle", f"q{q2}": ["Kadry", "VAT"]})
    assert first.status_code == 200 and 'id="survey-saved"' in first.text
    changed = client.post(links[0], data={f"q{q1}": "Dobrze", f"q{q3}": "Szybciej proszę"})
    assert changed.status_code == 200
    client.post(links[1], data={f"q{q1}": "Dobrze", f"q{q2}": "Płace"})
    missing = client.post(links[2], data={f"q{q2}": "Kadry"})
    assert missing.status_code == 422 and 'id="survey-errors"' in missing.text
    invented = client.post(links[2], data={f"q{q1}": "Świetnie"})
    assert invented.status_code == 422
    results = get(client, tenant.admin, f"/campaigns/{campaign}/survey")
    assert results["respondents"] == 2
    single, multiple, text = results["questions"]
    assert single["counts"] == {"Dobrze": 2, "Źle": 0}
    assert multiple["counts"] == {"Kadry": 0, "Płace": 1, "VAT": 0}  # the change replaced them
    assert text["texts"] == ["Szybciej proszę"]
    exported = client.get(f"/api/v1/campaigns/{campaign}/survey.csv", headers=tenant.admin.headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert lines[0] == ["row", "email", "name", "answered_at", *(q["text"] for q in QUESTIONS)]
    assert [line[1] for line in lines[1:]] == ["klient1@example.test", "klient2@example.test"]
    assert lines[1][4:] == ["Dobrze", "", "Szybciej proszę"]


def test_a_closed_survey_keeps_its_answers(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    campaign, links = _survey(client, runtime, tenant, 1)
    q1 = _question_ids(client, tenant, campaign)[0]
    client.post(links[0], data={f"q{q1}": "Dobrze"})
    days = runtime.settings.campaign_survey_days
    with runtime.tenant(tenant.company_id) as session:
        row = session.get(Campaign, campaign)
        assert row is not None and row.started_at is not None
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign)
            .values(started_at=row.started_at - timedelta(days=days, seconds=1))
        )
    closed = client.post(links[0], data={f"q{q1}": "Źle"})
    assert closed.status_code == 409 and 'id="survey-closed"' in closed.text
    results = get(client, tenant.admin, f"/campaigns/{campaign}/survey")
    assert results["questions"][0]["counts"] == {"Dobrze": 1, "Źle": 0}


def test_a_csv_cell_cannot_become_a_spreadsheet_formula(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    campaign, links = _survey(client, runtime, tenant, 1)
    q1, _, q3 = _question_ids(client, tenant, campaign)
    client.post(links[0], data={f"q{q1}": "Dobrze", f"q{q3}": '=HYPERLINK("http://x")'})
    exported = client.get(f"/api/v1/campaigns/{campaign}/survey.csv", headers=tenant.admin.headers)
    assert "'=HYPERLINK" in exported.text
