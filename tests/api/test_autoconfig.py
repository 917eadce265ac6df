"""GET /api/v1/autoconfig: proposed settings for an address, wired to Settings (A5)."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest
from fastapi.testclient import TestClient

from postroom.config import Settings
from postroom.services.autodiscovery import discovery_config
from tests.autoconfig.servers import DnsServer
from tests.support import Tenant

URL = "/api/v1/autoconfig"


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    server = DnsServer()
    yield server
    server.close()


@pytest.fixture
def settings(settings: Settings, dns_server: DnsServer) -> Settings:
    """The shared settings, with DNS pointed at the local server and a short bound."""
    return settings.model_copy(
        update={
            "dns_nameservers": "127.0.0.1",
            "dns_port": dns_server.port,
            "autodiscovery_timeout_seconds": 1.0,
        }
    )


def test_a_token_is_required(client: TestClient) -> None:
    response = client.get(URL, params={"email": "jan@wp.pl"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthenticated"


@pytest.mark.parametrize("email", ["not-an-address", "jan@", "Jan <jan@wp.pl>", "a@b@c.pl"])
def test_an_invalid_address_is_a_422_problem(
    client: TestClient, tenant: Tenant, email: str
) -> None:
    response = client.get(URL, params={"email": email}, headers=tenant.admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_failed"
    assert body["errors"][0]["field"] == "email"


def test_a_missing_address_is_a_422_problem(client: TestClient, tenant: Tenant) -> None:
    response = client.get(URL, headers=tenant.admin.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "email"


def test_a_preset_address_gets_account_fields(client: TestClient, tenant: Tenant) -> None:
    response = client.get(URL, params={"email": "jan@wp.pl"}, headers=tenant.admin.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in ("found", "source", "provider")} == {
        "found": True,
        "source": "preset:wp",
        "provider": "WP Poczta",
    }
    assert {k: v for k, v in body.items() if k.startswith(("smtp_", "incoming_"))} == {
        "smtp_host": "smtp.wp.pl",
        "smtp_port": 465,
        "smtp_security": "tls",
        "smtp_auth": "password",
        "smtp_username": "jan",
        "incoming_protocol": "imap",
        "incoming_host": "imap.wp.pl",
        "incoming_port": 993,
        "incoming_security": "tls",
        "incoming_auth": "password",
        "incoming_username": "jan",
    }
    assert body["alternatives"] == [
        {
            "role": "incoming",
            "protocol": "pop3",
            "host": "pop3.wp.pl",
            "port": 995,
            "security": "tls",
            "auth": "password",
            "username": "jan",
        }
    ]
    assert body["advice"] and body["daily_send_limit"] is None


def test_gmail_says_app_password_and_daily_limit(client: TestClient, tenant: Tenant) -> None:
    body = client.get(URL, params={"email": "Anna@GMAIL.com"}, headers=tenant.admin.headers).json()
    assert body["email"] == "Anna@gmail.com"  # normalised like account addresses
    assert body["daily_send_limit"] == 500
    assert "app password" in body["advice"][0]


def test_the_dns_settings_reach_the_lookup(
    client: TestClient, tenant: Tenant, dns_server: DnsServer
) -> None:
    dns_server.add(
        "biuro-rachunkowe.test", "MX", "10 biuro-rachunkowe-test.mail.protection.outlook.com."
    )

    response = client.get(
        URL, params={"email": "kadry@biuro-rachunkowe.test"}, headers=tenant.admin.headers
    )

    body = response.json()
    assert (body["source"], body["provider"]) == ("mx:microsoft365", "Microsoft 365")
    assert (body["smtp_host"], body["smtp_auth"]) == ("smtp.office365.com", "oauth2")
    assert body["smtp_username"] == "kadry@biuro-rachunkowe.test"


def test_nothing_found_within_the_configured_bound(
    client: TestClient, tenant: Tenant, dns_server: DnsServer
) -> None:
    dns_server.silent = True

    started = time.monotonic()
    response = client.get(URL, params={"email": "jan@cisza.test"}, headers=tenant.admin.headers)

    # The bound is 1 s (POSTROOM_AUTODISCOVERY_TIMEOUT_SECONDS); unbounded, the silent DNS
    # server alone would hold each lookup for dnspython's 5 s lifetime. The margin is for a
    # loaded CI machine (2.3 s was seen), not a performance figure.
    assert time.monotonic() - started < 4.5
    body = response.json()
    assert (response.status_code, body["found"], body["source"]) == (200, False, "none")
    assert body["smtp_host"] == "" and body["incoming_protocol"] == "none"


def test_settings_become_the_discovery_config(tmp_path: Path) -> None:
    loopback = ipaddress.ip_address("127.0.0.1")
    default = discovery_config(Settings(data_dir=tmp_path))
    assert default.nameservers == ()  # the system's resolver
    assert not default.policy.permits(loopback)
    assert not default.http_fallback

    configured = discovery_config(
        Settings(
            data_dir=tmp_path,
            dns_nameservers="192.0.2.53, 192.0.2.54",
            dns_port=5353,
            allowed_networks="127.0.0.0/8",
            autodiscovery_timeout_seconds=2.5,
            autoconfig_http_fallback=True,
            extra_ca_file=tmp_path / "ca.pem",
        )
    )
    assert configured.nameservers == ("192.0.2.53", "192.0.2.54")
    assert configured.dns_port == 5353
    assert configured.policy.permits(loopback)
    assert configured.total_timeout == 2.5
    assert configured.http_fallback
    assert configured.extra_ca_file == tmp_path / "ca.pem"


def test_dns_servers_must_be_ip_addresses(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match=r"dns\.google"):
        Settings(data_dir=tmp_path, dns_nameservers="192.0.2.53, dns.google")
