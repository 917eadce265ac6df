"""POST/GET/DELETE /company/domains and verify: the key pair, the record, refusals, secrecy."""

from __future__ import annotations

import base64

import dns.message
import dns.query
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key
from fastapi.testclient import TestClient
from sqlalchemy import select

from postroom.db.models_domains import SenderDomain
from postroom.services.runtime import Runtime
from tests.fixtures.dns_server import DnsServer, Zone
from tests.support import Tenant

API = "/api/v1/company/domains"


def test_adding_a_domain_makes_a_2048_bit_key_and_the_record_to_publish(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    response = client.post(API, headers=tenant.admin.headers, json={"domain": " Biuro-Łódź.TEST. "})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["domain"] == "xn--biuro-d-q0a42esr.test"  # IDNA, lower case, no final dot
    assert (body["selector"], body["verified"], body["last_check"]) == ("postroom", False, None)
    record = body["dns_record"]
    assert record["name"] == "postroom._domainkey.xn--biuro-d-q0a42esr.test"
    assert record["type"] == "TXT"
    assert record["value"].startswith("v=DKIM1; k=rsa; p=")
    key = load_der_public_key(base64.b64decode(record["value"].split("p=")[1]))
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    assert "PRIVATE" not in response.text and "private" not in response.text

    with runtime.tenant(tenant.company_id) as session:
        row = session.scalars(select(SenderDomain)).one()
        stored = row.dkim_private_key_encrypted
    assert "BEGIN" not in stored  # encrypted with the secret box, like every secret
    assert runtime.secret_box.decrypt(stored).reveal().startswith("-----BEGIN RSA PRIVATE KEY")

    listed = client.get(API, headers=tenant.admin.headers).json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]
    one = client.get(f"{API}/{body['id']}", headers=tenant.admin.headers).json()
    assert one["dns_record"] == record


@pytest.mark.parametrize(
    "value", ["", "nie domena", "firma", "-firma.pl", "a..pl", "x" * 70 + ".pl"]
)
def test_a_bad_domain_is_a_422_naming_the_field(
    client: TestClient, tenant: Tenant, value: str
) -> None:
    response = client.post(API, headers=tenant.admin.headers, json={"domain": value})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "domain"


def test_the_same_domain_twice_is_a_conflict(client: TestClient, tenant: Tenant) -> None:
    assert client.post(API, headers=tenant.admin.headers, json={"domain": "firma.test"}).is_success
    again = client.post(API, headers=tenant.admin.headers, json={"domain": "FIRMA.test"})
    assert again.status_code == 409 and again.json()["code"] == "domain_exists"


def test_only_administrators_manage_domains(client: TestClient, tenant: Tenant) -> None:
    user = tenant.add_user()
    refused = client.post(API, headers=user.headers, json={"domain": "firma.test"})
    assert refused.status_code == 403
    added = client.post(API, headers=tenant.admin.headers, json={"domain": "firma.test"}).json()
    assert client.get(API, headers=user.headers).json()["items"][0]["id"] == added["id"]
    for method, path in (
        ("POST", f"{API}/{added['id']}/verify"),
        ("DELETE", f"{API}/{added['id']}"),
    ):
        assert client.request(method, path, headers=user.headers).status_code == 403


def test_deleting_a_domain(client: TestClient, tenant: Tenant) -> None:
    added = client.post(API, headers=tenant.admin.headers, json={"domain": "firma.test"}).json()
    assert client.delete(f"{API}/{added['id']}", headers=tenant.admin.headers).status_code == 204
    assert client.get(f"{API}/{added['id']}", headers=tenant.admin.headers).status_code == 404
    assert client.get(API, headers=tenant.admin.headers).json() == {"items": []}


def test_another_company_lists_none_of_ours(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    client.post(API, headers=tenant.admin.headers, json={"domain": "firma.test"})
    assert client.get(API, headers=other_tenant.admin.headers).json() == {"items": []}
    # The same domain may be another company's too: each proves it by publishing its own key.
    theirs = client.post(API, headers=other_tenant.admin.headers, json={"domain": "firma.test"})
    assert theirs.status_code == 201


def test_a_different_key_published_is_reported_with_the_record_to_put_instead(
    client: TestClient, tenant: Tenant, dns_zone: Zone
) -> None:
    added = client.post(API, headers=tenant.admin.headers, json={"domain": "firma.test"}).json()
    dns_zone.txt(added["dns_record"]["name"], "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOC")
    checked = client.post(f"{API}/{added['id']}/verify", headers=tenant.admin.headers).json()
    assert checked["verified"] is False
    dkim = next(c for c in checked["last_check"]["checks"] if c["name"] == "dkim")
    assert (dkim["result"], dkim["status"]) == ("different", "warning")
    assert dkim["record_to_add"] == added["dns_record"]
    assert "Zastąp ten rekord" in dkim["explanation"]["pl"]


def test_the_dns_server_answers_a_2048_bit_key_over_tcp_too(
    dns_server: DnsServer, dns_zone: Zone
) -> None:
    value = "v=DKIM1; k=rsa; p=" + "A" * 392  # the size of a 2048-bit key's record
    dns_zone.txt("postroom._domainkey.firma.test", value)
    query = dns.message.make_query("postroom._domainkey.firma.test", "TXT")
    answer = dns.query.tcp(query, dns_server.host, port=dns_server.port, timeout=5)
    (rdata,) = answer.answer[0]
    assert b"".join(rdata.strings).decode() == value  # split into 255-byte strings, joined
