"""Values the lookup chain works with: the address, one server, and the proposal it returns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from postroom.enums import AuthMethod, Security


class ServerKind(StrEnum):
    SMTP = "smtp"
    IMAP = "imap"
    POP3 = "pop3"


# A DNS host name (RFC 1123 labels). Hosts come from DNS answers and fetched XML, i.e. from
# strangers: anything else (spaces, control characters, URLs) is dropped before it can reach a
# form field or, later, a protocol command.
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


def clean_host(value: str) -> str | None:
    """The host name lower-cased without a trailing dot, or None if it is not a valid name."""
    host = value.strip().rstrip(".").lower()
    return host if _HOST.match(host) else None


@dataclass(frozen=True)
class EmailAddress:
    """An address split for lookups: `domain` is the ASCII (IDNA) form DNS needs."""

    address: str
    local_part: str
    domain: str

    @classmethod
    def parse(cls, address: str) -> EmailAddress:
        """Split an address (already validated by the caller); ValueError if the domain is bad."""
        local_part, _, domain = address.strip().rpartition("@")
        try:
            ascii_domain = domain.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise ValueError(f"{domain!r} is not a valid domain name") from exc
        if not local_part or clean_host(ascii_domain) is None:
            raise ValueError(f"{address!r} is not an e-mail address")
        return cls(address=address.strip(), local_part=local_part, domain=ascii_domain)

    def expand(self, template: str, mx_host: str = "") -> str:
        """Replace config-v1.1.xml placeholders (and %MXHOST% of presets) in `template`."""
        return (
            template.replace("%EMAILADDRESS%", self.address)
            .replace("%EMAILLOCALPART%", self.local_part)
            .replace("%EMAILDOMAIN%", self.domain)
            .replace("%MXHOST%", mx_host)
        )


@dataclass(frozen=True)
class Server:
    """One server as proposed: what to connect to and how to log in."""

    kind: ServerKind
    host: str
    port: int
    security: Security
    auth: AuthMethod = AuthMethod.PASSWORD
    username: str = ""


@dataclass(frozen=True)
class Proposal:
    """What the chain proposes for an address, and which source said so.

    `source` is "preset:<id>", "autoconfig", "srv", "mx:<id>", "guess", or "none" when nothing
    answered. The first outgoing and incoming servers are proposed; `alternatives` holds the
    other servers the source named (another port, POP3 beside IMAP) for the user to pick.
    """

    source: str
    provider: str = ""
    outgoing: Server | None = None
    incoming: Server | None = None
    alternatives: tuple[Server, ...] = ()
    advice: tuple[str, ...] = ()
    daily_send_limit: int | None = None

    @property
    def found(self) -> bool:
        return self.outgoing is not None or self.incoming is not None


def propose(
    source: str,
    servers: list[Server],
    *,
    provider: str = "",
    advice: tuple[str, ...] = (),
    daily_send_limit: int | None = None,
) -> Proposal | None:
    """The first SMTP and the first IMAP/POP3 server in `servers` proposed, the rest as
    alternatives; None when `servers` is empty."""
    if not servers:
        return None
    outgoing = next((s for s in servers if s.kind is ServerKind.SMTP), None)
    incoming = next((s for s in servers if s.kind is not ServerKind.SMTP), None)
    rest = tuple(s for s in servers if s is not outgoing and s is not incoming)
    return Proposal(
        source=source,
        provider=provider,
        outgoing=outgoing,
        incoming=incoming,
        alternatives=rest,
        advice=advice,
        daily_send_limit=daily_send_limit,
    )
