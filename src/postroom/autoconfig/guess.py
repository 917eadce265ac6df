"""Source "guess": the usual host names on the standard ports, each probed with a TCP connect."""

from __future__ import annotations

import asyncio
import contextlib

from postroom.autoconfig.model import EmailAddress, Proposal, Server, ServerKind, propose
from postroom.autoconfig.options import DiscoveryConfig, StandardPorts
from postroom.autoconfig.race import cancel_all, first_by_priority, spawn
from postroom.autoconfig.resolver import Resolver
from postroom.enums import AuthMethod, Security

_ADVICE = (
    "These settings are a guess: a server answered on the standard port, but nothing confirmed "
    'that it holds your mailbox. Run "Test account" before saving, and if the login is '
    "refused, try the part of the address before the @ as the login."
)

# Preference order within each role: implicit TLS before STARTTLS (RFC 8314 §3.3), the
# protocol's own host name before mail.<domain>, IMAP before POP3. Nothing unencrypted, and not
# port 25 (for relaying between servers, and blocked by many networks).
_OUTGOING = (
    ("smtp", ServerKind.SMTP, Security.TLS),
    ("smtp", ServerKind.SMTP, Security.STARTTLS),
    ("mail", ServerKind.SMTP, Security.TLS),
    ("mail", ServerKind.SMTP, Security.STARTTLS),
)
_INCOMING = (
    ("imap", ServerKind.IMAP, Security.TLS),
    ("imap", ServerKind.IMAP, Security.STARTTLS),
    ("mail", ServerKind.IMAP, Security.TLS),
    ("mail", ServerKind.IMAP, Security.STARTTLS),
    ("pop3", ServerKind.POP3, Security.TLS),
    ("pop3", ServerKind.POP3, Security.STARTTLS),
    ("pop", ServerKind.POP3, Security.TLS),
    ("pop", ServerKind.POP3, Security.STARTTLS),
    ("mail", ServerKind.POP3, Security.TLS),
    ("mail", ServerKind.POP3, Security.STARTTLS),
)


def _port(ports: StandardPorts, kind: ServerKind, security: Security) -> int:
    port: int = getattr(ports, f"{kind.value}_{security.value}")
    return port


async def _connects(addresses: list[str], port: int, timeout: float) -> bool:
    for address in addresses:
        try:
            async with asyncio.timeout(timeout):
                _reader, writer = await asyncio.open_connection(address, port)
        except (OSError, TimeoutError):
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


class _Prober:
    """Resolves each host once (through the policy) and probes host:port pairs."""

    def __init__(self, config: DiscoveryConfig, resolver: Resolver) -> None:
        self._config = config
        self._resolver = resolver
        self._addresses: dict[str, asyncio.Task[list[str]]] = {}

    async def probe(self, server: Server) -> Server | None:
        if server.host not in self._addresses:
            self._addresses[server.host] = asyncio.ensure_future(
                self._resolver.permitted(server.host, self._config.policy)
            )
        addresses = await asyncio.shield(self._addresses[server.host])
        reachable = await _connects(addresses, server.port, self._config.probe_timeout)
        return server if reachable else None

    async def close(self) -> None:
        lookups = list(self._addresses.values())
        for lookup in lookups:
            lookup.cancel()
        await asyncio.gather(*lookups, return_exceptions=True)


def _candidates(
    email: EmailAddress, ports: StandardPorts, table: tuple[tuple[str, ServerKind, Security], ...]
) -> list[Server]:
    return [
        Server(
            kind,
            f"{prefix}.{email.domain}",
            _port(ports, kind, security),
            security,
            AuthMethod.PASSWORD,
            email.address,
        )
        for prefix, kind, security in table
    ]


async def lookup(
    email: EmailAddress, config: DiscoveryConfig, resolver: Resolver
) -> Proposal | None:
    """Every candidate is probed at once; per role, the most preferred one that accepted a TCP
    connection wins, without waiting for the less preferred ones."""
    prober = _Prober(config, resolver)
    roles = [_candidates(email, config.ports, table) for table in (_OUTGOING, _INCOMING)]
    tasks = [[spawn(prober.probe(s), f"guess {s.host}:{s.port}") for s in role] for role in roles]
    try:
        outgoing, incoming = await asyncio.gather(*(first_by_priority(t) for t in tasks))
    finally:
        await asyncio.gather(*(cancel_all(t) for t in tasks))
        await prober.close()
    found = [s for s in (outgoing, incoming) if s is not None]
    return propose("guess", found, advice=(_ADVICE,))
