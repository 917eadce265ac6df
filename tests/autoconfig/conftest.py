"""Fixtures: a local DNS server, HTTPS/HTTP servers with a throw-away CA, a config using them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from postroom.autoconfig.options import DiscoveryConfig, StandardPorts
from postroom.mail.netguard import NetworkPolicy, parse_networks
from tests.autoconfig.servers import (
    DnsServer,
    Listener,
    TestCa,
    WebServer,
    closed_port,
    make_ca,
)

# Every domain a test serves autoconfig files for: the certificate covers each domain and its
# sub-domains (autoconfig.<domain>), as a real provider's would.
SERVED_DOMAINS = ("firma.test", "known.test", "wellknown.test", "both.test", "redirect.test")
LOOPBACK_ALLOWED = NetworkPolicy(allowed=parse_networks("127.0.0.0/8"))


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCa:
    names = [n for d in SERVED_DOMAINS for n in (d, f"*.{d}")]
    return make_ca(tmp_path_factory.mktemp("autoconfig-ca"), names)


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    server = DnsServer()
    yield server
    server.close()


@pytest.fixture
def https_server(test_ca: TestCa) -> Iterator[WebServer]:
    server = WebServer(test_ca.server_context)
    yield server
    server.close()


@pytest.fixture
def http_server() -> Iterator[WebServer]:
    server = WebServer()
    yield server
    server.close()


def closed_ports() -> StandardPorts:
    """Every guess probe is refused at once unless a test opens a port."""
    return StandardPorts(*(closed_port() for _ in range(6)))


@pytest.fixture
def make_config(
    dns_server: DnsServer, https_server: WebServer, http_server: WebServer, test_ca: TestCa
) -> Callable[..., DiscoveryConfig]:
    """A config that reaches only the local servers; loopback allowed unless a test says not."""

    def make(**changes: Any) -> DiscoveryConfig:
        config = DiscoveryConfig(
            policy=LOOPBACK_ALLOWED,
            nameservers=("127.0.0.1",),
            dns_port=dns_server.port,
            https_port=https_server.port,
            http_port=http_server.port,
            extra_ca_file=test_ca.ca_file,
            # Generous: a test that expects an answer must not lose it to a busy CI
            # machine (a 1 s DNS and 2 s HTTP bound once did). Tests of the bounds
            # themselves set their own, small ones.
            dns_timeout=5.0,
            http_timeout=10.0,
            probe_timeout=5.0,
            total_timeout=20.0,
            ports=closed_ports(),
        )
        return replace(config, **changes)

    return make


@pytest.fixture
def listeners() -> Iterator[Callable[[], Listener]]:
    """Open TCP ports on demand, all closed after the test."""
    opened: list[Listener] = []

    def open_one() -> Listener:
        opened.append(Listener())
        return opened[-1]

    yield open_one
    for listener in opened:
        listener.close()
