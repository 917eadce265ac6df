"""Which addresses a user-supplied host may lead to: no loopback, private or metadata ranges.

Hosts come from users (account settings, autodiscovery). Without this check, "test account"
would let anyone probe the service's internal network (SSRF). The check runs on the addresses
DNS returns, and callers connect to exactly those addresses, so a second lookup that answers
differently (DNS rebinding) cannot slip past it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from postroom.errors import PostroomError

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services answer on link-local addresses; listed for clarity.
_METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))


class HostNotAllowedError(PostroomError):
    """The host resolves to an address Postroom may not connect to."""

    code = "host_not_allowed"


class HostNotFoundError(PostroomError):
    """DNS has no address for the host."""

    code = "host_not_found"


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """Comma-separated CIDRs (operator setting), e.g. "127.0.0.0/8,10.1.0.0/16"."""
    return tuple(ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip())


def _forbidden(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _forbidden(address.ipv4_mapped)
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or any(address in net for net in _METADATA)
    )


@dataclass(frozen=True)
class NetworkPolicy:
    """Refuse internal addresses unless they fall in an operator-allowed network."""

    allowed: tuple[IpNetwork, ...] = ()

    def permits(self, address: IpAddress) -> bool:
        if any(address in network for network in self.allowed):
            return True
        return not _forbidden(address)

    def check(self, host: str, addresses: Sequence[str]) -> list[str]:
        """The permitted addresses among `addresses`; raises if there are none."""
        permitted = [a for a in addresses if self.permits(ipaddress.ip_address(a))]
        if not permitted:
            raise HostNotAllowedError(
                f"{host} resolves to an internal address ({', '.join(addresses)}), which Postroom "
                "does not connect to. Use the mail server's public name; an operator can allow "
                "internal networks with POSTROOM_ALLOWED_NETWORKS."
            )
        return permitted

    async def resolve(self, host: str, port: int) -> list[str]:
        """Resolve `host` and return the addresses it is safe to connect to, in DNS order."""
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise HostNotFoundError(
                f"The name {host} does not exist in DNS ({exc.strerror}); "
                "check the server name for typos."
            ) from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        return self.check(host, addresses)
