"""What the lookup chain needs from outside: DNS servers, ports, timeouts, the address policy."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressPolicy(Protocol):
    """Which resolved addresses may be contacted (the service passes mail.netguard's policy).

    Hosts come from strangers (the address's domain, its DNS, fetched XML): without this check
    a lookup could be pointed at the service's internal network (SSRF).
    """

    def permits(self, address: IpAddress) -> bool: ...


@dataclass(frozen=True)
class StandardPorts:
    """The ports the guess probes (RFC 8314, 6409, 3501, 1939); tests use free local ports."""

    smtp_tls: int = 465
    smtp_starttls: int = 587
    imap_tls: int = 993
    imap_starttls: int = 143
    pop3_tls: int = 995
    pop3_starttls: int = 110


@dataclass(frozen=True)
class DiscoveryConfig:
    """Everything network-facing, injectable: production builds it from Settings."""

    policy: AddressPolicy
    nameservers: tuple[str, ...] = ()  # empty: the system's (/etc/resolv.conf)
    dns_port: int = 53
    https_port: int = 443
    http_port: int = 80
    # Thunderbird also tries http:// (providers.md §2.1); off by default, see docs/autoconfig.md.
    http_fallback: bool = False
    extra_ca_file: Path | None = None
    dns_timeout: float = 2.0
    http_timeout: float = 3.0
    probe_timeout: float = 2.0
    # The whole discovery never takes longer: the form waits for it while the user types.
    total_timeout: float = 5.0
    ports: StandardPorts = field(default_factory=StandardPorts)
    # A config-v1.1.xml is a few kilobytes; anything far larger is not one.
    max_document_bytes: int = 256 * 1024
