"""Newsletters: List-Unsubscribe with one-click (RFC 8058) pointing to Postroom, honoured by
later newsletters of the company but not by documents; the public pages' bounds."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

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

_UNSUBSCRIBE = re.compile(rb"List-Unsubscribe: <(https://[^>]+)>,\s+<mailto:([^>]+)>")
NEWSLETTER_HTML = (
    '<p>Dzień dobry {{ name }}, nowości w grudniu.</p><p><a href="{{ unsubscribe_url }}">'
    "Wypisz się</a></p>"
)


def _newsletter_template(client: TestClient, tenant: Tenant) -> int:
    made = make_template(
        client,
        tenant.admin,
        name="Newsletter",
        kind="other",
        subject="Nowości",
        html=NEWSLETTER_HTML,
    )
    return int(made["id"])


def _send(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    template: int,
    kind: str,
    recipients: list[dict[str, object]],
) -> int:
    created = create_campaign(
        client,
        tenant.admin,
        name=f"{kind} {len(recipients)}",
        kind=kind,
        template_id=template,
        recipients=recipients,
        start=True,
    )
    feed(runtime, tenant, created["id"])
    return int(created["id"])


def _link(raw: bytes) -> str:
    found = _UNSUBSCRIBE.search(raw)
    assert found, raw[:2000]
    return found.group(1).decode()


def test_a_newsletter_carries_one_click_unsubscribe_pointing_to_postroom(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime, email_address="biuro@alfa.example.test")
    template = _newsletter_template(client, tenant)
    campaign = _send(client, runtime, tenant, template, "newsletter", rows(2))
    first, second = campaign_messages(runtime, tenant, campaign)
    raw = first.body.mime
    url = _link(raw)
    assert url.startswith(f"{PUBLIC_URL}/u/")
    assert _UNSUBSCRIBE.search(raw).group(2) == b"biuro@alfa.example.test"  # type: ignore[union-attr]
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert url.encode() in raw.split(b"\r\n\r\n", 1)[1].replace(b"=\r\n", b"")  # the body link
    assert _link(second.body.mime) != url  # every recipient has their own token


def test_unsubscribed_addresses_get_no_later_newsletter_but_still_get_documents(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    newsletter = _newsletter_template(client, tenant)
    first = _send(client, runtime, tenant, newsletter, "newsletter", rows(2))
    url = _link(campaign_messages(runtime, tenant, first)[0].body.mime)
    # RFC 8058 §3.2: the mail client POSTs this body to the URI; no login, no confirmation.
    response = client.post(
        url.removeprefix(PUBLIC_URL),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    later = create_campaign(
        client,
        tenant.admin,
        name="Styczeń",
        kind="newsletter",
        template_id=newsletter,
        recipients=rows(2),
    )
    assert (later["report"]["valid"], later["report"]["opted_out"]) == (1, 1)
    assert later["report"]["problems"][0]["email"] == "klient1@example.test"
    invoice = make_template(client, tenant.admin)
    documents = _send(client, runtime, tenant, invoice["id"], "documents", rows(1))
    sent = campaign_messages(runtime, tenant, documents)
    assert [m.recipients[0].address for m in sent] == ["klient1@example.test"]
    assert b"List-Unsubscribe" not in sent[0].body.mime


def test_an_unsubscribe_after_the_check_is_honoured_when_the_row_is_sent(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    sending_company(client, tenant, runtime)
    newsletter = _newsletter_template(client, tenant)
    first = _send(client, runtime, tenant, newsletter, "newsletter", rows(1))
    url = _link(campaign_messages(runtime, tenant, first)[0].body.mime)
    waiting = create_campaign(
        client,
        tenant.admin,
        name="Luty",
        kind="newsletter",
        template_id=newsletter,
        recipients=rows(1),
        start=True,
    )
    page = client.get(url.removeprefix(PUBLIC_URL))
    assert page.status_code == 200
    assert "klient1@example.test" in page.text
    assert 'id="confirm-unsubscribe"' in page.text
    client.post(url.removeprefix(PUBLIC_URL), data={"List-Unsubscribe": "One-Click"})
    assert feed(runtime, tenant, waiting["id"]).opted_out == 1
    counts = get(client, tenant.admin, f"/campaigns/{waiting['id']}")["progress"]["counts"]
    assert (counts["opted_out"], counts["queued"]) == (1, 0)


def test_a_token_reaches_only_its_own_row_and_company(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    for company in (tenant, other_tenant):
        sending_company(client, company, runtime)
    ours = _send(
        client, runtime, tenant, _newsletter_template(client, tenant), "newsletter", rows(1)
    )
    theirs_template = _newsletter_template(client, other_tenant)
    url = _link(campaign_messages(runtime, tenant, ours)[0].body.mime)
    client.post(url.removeprefix(PUBLIC_URL), data={"List-Unsubscribe": "One-Click"})
    # The same address is unsubscribed from our company only: the other one still mails it.
    theirs = create_campaign(
        client,
        other_tenant.admin,
        name="B",
        kind="newsletter",
        template_id=theirs_template,
        recipients=rows(1),
    )
    assert theirs["report"]["valid"] == 1
    for path in (
        "/u/nie-ma-takiego-tokenu-0123456789",
        "/s/nie-ma-takiego-tokenu-0123456789",
        "/u/x",
        "/s/%2e%2e",
    ):
        assert client.get(path).status_code == 404, path
        assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 404
