"""Deliverability tests: Postroom's DNS pointed at the local authoritative server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from postroom.config import Settings
from postroom.services import deliverability_dns
from tests.fixtures.dns_server import DnsServer, dns_server, dns_zone

__all__ = ["dns_server", "dns_zone"]  # fixtures of the DNS plugin, used by these tests only


@pytest.fixture
def settings(settings: Settings, dns_server: DnsServer) -> Settings:
    """The shared settings, with POSTROOM_DNS_NAMESERVERS and _PORT at the local server."""
    return settings.model_copy(
        update={"dns_nameservers": dns_server.host, "dns_port": dns_server.port}
    )


@pytest.fixture(autouse=True)
def _fresh_dns_cache() -> Iterator[None]:
    # Each test serves its own records: no answer cached by an earlier test may be used.
    deliverability_dns.clear_cache()
    yield
    deliverability_dns.clear_cache()


@pytest.fixture
def dns_settings(tmp_path: Path, dns_server: DnsServer) -> Settings:
    """Settings for checks that need DNS only (no database, no mail servers)."""
    return Settings(data_dir=tmp_path, dns_nameservers=dns_server.host, dns_port=dns_server.port)
