"""Relay mail through the real Postfix into Dovecot: DKIM that verifies at the receiving end for a
verified domain, and a From rewrite that passes DMARC by construction for an unverified one."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from postroom.config import Settings
from postroom.db.models_outbox import OutboxMessage
from postroom.enums import MessageStatus
from postroom.mail import dkim_keys
from postroom.mail.dmarc_check import Alignment, aligned
from postroom.secrets import Secret
from postroom.services.deliverability_dns import resolver_for
from postroom.services.runtime import Runtime
from tests.api.sending_helpers import submit, turn_email_on, upload
from tests.deliverability.imap_read import fetch_arrived
from tests.fixtures.dns_server import Zone
from tests.fixtures.mailenv import MailEnv
from tests.mail.mime_support import display_name, raw_headers
from tests.support import Tenant
from tests.worker.outbox_support import load, run_engine

ALICE, BOB = "alice@example.test", "bob@example.test"  # the relay's login, a recipient
PLATFORM_SELECTOR = "platform"
API = "/api/v1"


@pytest.fixture
def settings(settings: Settings, mailenv: MailEnv, tmp_path: Path) -> Settings:
    """The relay is the local Postfix (submission, as alice), with a platform DKIM key."""
    pair = dkim_keys.generate_key_pair()
    key_file = tmp_path / "platform-dkim.pem"
    key_file.write_text(pair.private_pem.reveal(), encoding="ascii")
    return settings.model_copy(
        update={
            "relay_host": mailenv.host,
            "relay_port": mailenv.submission_port,
            "relay_security": "starttls",
            "relay_username": ALICE,
            "relay_password": SecretStr(mailenv.users[ALICE]),
            "relay_from_address": ALICE,
            "relay_dkim_selector": PLATFORM_SELECTOR,
            "relay_dkim_private_key_file": key_file,
        }
    )


def _publish_platform_key(zone: Zone, settings: Settings) -> None:
    assert settings.relay_dkim_private_key_file is not None
    key = Secret(settings.relay_dkim_private_key_file.read_text(encoding="ascii"))
    name = dkim_keys.record_name(PLATFORM_SELECTOR, "example.test")
    zone.txt(name, dkim_keys.record_value(dkim_keys.public_key_of(key)))


def _deliver(runtime: Runtime, tenant: Tenant, mailenv: MailEnv, answer: dict[str, Any]) -> bytes:
    run_engine(runtime)
    row = load(runtime, tenant.company_id, answer["id"])
    assert row.status is MessageStatus.SENT, row.last_reply
    return fetch_arrived(mailenv, BOB, f"<{row.message_id}>")


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _signature_tags(raw: bytes) -> dict[str, str]:
    value = _parse(raw)["DKIM-Signature"]
    tags = (part.strip().partition("=") for part in str(value).split(";"))
    return {name: "".join(v.split()) for name, _sep, v in tags if name}


def _stored(runtime: Runtime, tenant: Tenant, message_id: int) -> OutboxMessage:
    with runtime.tenant(tenant.company_id) as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        _ = row.body.mime
        session.expunge_all()
        return row


def test_verified_domain_keeps_its_from_and_dkim_verifies_after_delivery(
    client: TestClient,
    runtime: Runtime,
    settings: Settings,
    tenant: Tenant,
    mailenv: MailEnv,
    dns_zone: Zone,
) -> None:
    admin = tenant.admin
    domain = admin.email.rpartition("@")[2]
    turn_email_on(client, admin, "relay")
    added = client.post(f"{API}/company/domains", headers=admin.headers, json={"domain": domain})
    assert added.status_code == 201, added.text
    record, domain_id = added.json()["dns_record"], added.json()["id"]
    assert record["name"] == f"postroom._domainkey.{domain}"
    dns_zone.txt(f"_dmarc.{domain}", "v=DMARC1; p=reject; adkim=s")

    before = client.post(f"{API}/company/domains/{domain_id}/verify", headers=admin.headers)
    assert before.json()["verified"] is False
    checks = {c["name"]: c for c in before.json()["last_check"]["checks"]}
    assert (checks["dkim"]["result"], checks["dkim"]["record_to_add"]) == ("missing", record)

    dns_zone.txt(record["name"], record["value"])  # the company publishes the record
    after = client.post(f"{API}/company/domains/{domain_id}/verify", headers=admin.headers)
    assert after.json()["verified"] is True, after.json()["last_check"]
    checks = {c["name"]: c for c in after.json()["last_check"]["checks"]}
    assert (checks["dmarc"]["result"], checks["dmarc"]["status"]) == ("reject", "ok")

    stored = upload(client, admin)  # Faktura_1_2026_Łódź.pdf
    answer = submit(
        client,
        admin,
        to=[BOB],
        subject="Faktura 1/2026 — zapłata w ciągu 14 dni, Łódź",
        html="<p>Dzień dobry, w załączniku <b>faktura</b>. Zażółć gęślą jaźń.</p>",
        attachments=[{"file_id": stored["id"]}],
    )
    assert _stored(runtime, tenant, answer["id"]).body.mime.startswith(b"DKIM-Signature: ")
    raw = _deliver(runtime, tenant, mailenv, answer)

    message = _parse(raw)
    assert message["From"].addresses[0].addr_spec == admin.email  # From kept
    tags = _signature_tags(raw)
    assert (tags["d"], tags["s"], tags["a"]) == (domain, "postroom", "rsa-sha256")
    assert {"from", "to", "subject", "date", "message-id", "mime-version"} <= set(
        tags["h"].lower().split(":")
    )
    resolver = resolver_for(settings, cached=False)
    assert resolver is not None
    assert dkim_keys.verify(raw, resolver)  # through the local DNS server
    tampered = raw.replace(b"Zaz", b"Zas") if b"Zaz" in raw else raw.replace(b"faktura", b"fakturA")
    assert tampered != raw and not dkim_keys.verify(tampered, resolver)


def test_unverified_domain_goes_out_via_the_platform_with_the_users_reply_to(
    client: TestClient,
    runtime: Runtime,
    settings: Settings,
    tenant: Tenant,
    mailenv: MailEnv,
    dns_zone: Zone,
) -> None:
    admin = tenant.admin
    _publish_platform_key(dns_zone, settings)
    turn_email_on(client, admin, "relay")
    given = "ksiegowosc@c1.example.test"
    answer = submit(
        client,
        admin,
        to=[BOB],
        subject="Przypomnienie",
        text="Dzień dobry.",
        reply_to={"address": given, "name": "Księgowość"},
    )
    raw = _deliver(runtime, tenant, mailenv, answer)

    message = _parse(raw)
    sender = message["From"].addresses[0]
    assert sender.addr_spec == ALICE
    assert display_name(raw_headers(raw)["from"]) == "Biuro Rachunkowe Alfa via Postroom"
    assert message["Reply-To"].addresses[0].addr_spec == given  # the user's Reply-To kept
    tags = _signature_tags(raw)
    assert (tags["d"], tags["s"]) == ("example.test", PLATFORM_SELECTOR)
    # DMARC by construction: From, DKIM d= and MAIL FROM share one domain.
    assert aligned(tags["d"], sender.domain, Alignment.STRICT)
    assert message["Return-Path"] == f"<{ALICE}>"
    resolver = resolver_for(settings, cached=False)
    assert resolver is not None and dkim_keys.verify(raw, resolver)


def test_without_a_reply_to_replies_go_to_the_sender(
    client: TestClient, runtime: Runtime, tenant: Tenant, mailenv: MailEnv, dns_zone: Zone
) -> None:
    turn_email_on(client, tenant.admin, "relay")
    answer = submit(client, tenant.admin, to=[BOB], subject="Bez Reply-To", text="Treść.")
    raw = _deliver(runtime, tenant, mailenv, answer)
    message = _parse(raw)
    assert message["Reply-To"].addresses[0].addr_spec == tenant.admin.email
    assert message["From"].addresses[0].addr_spec == ALICE


def test_a_domain_whose_record_was_removed_is_no_longer_used(
    client: TestClient, runtime: Runtime, tenant: Tenant, dns_zone: Zone
) -> None:
    admin = tenant.admin
    domain = admin.email.rpartition("@")[2]
    turn_email_on(client, admin, "relay")
    added = client.post(f"{API}/company/domains", headers=admin.headers, json={"domain": domain})
    record, domain_id = added.json()["dns_record"], added.json()["id"]
    dns_zone.txt(record["name"], record["value"])
    verify = f"{API}/company/domains/{domain_id}/verify"
    assert client.post(verify, headers=admin.headers).json()["verified"] is True
    answer = submit(client, admin, to=[BOB], subject="Z domeny", text="Treść.")
    signed = _stored(runtime, tenant, answer["id"]).body.mime
    assert _parse(signed)["From"].addresses[0].addr_spec == admin.email
    assert _signature_tags(signed)["d"] == domain

    dns_zone.remove(record["name"])
    assert client.post(verify, headers=admin.headers).json()["verified"] is False
    answer = submit(client, admin, to=[BOB], subject="Po usunięciu", text="Treść.")
    rewritten = _stored(runtime, tenant, answer["id"]).body.mime
    assert _parse(rewritten)["From"].addresses[0].addr_spec == ALICE
    assert _signature_tags(rewritten)["d"] == "example.test"  # the platform's key now
