"""Source "srv": RFC 6186 service records (plus RFC 8314's _submissions for port 465)."""

from __future__ import annotations

import asyncio

from postroom.autoconfig.model import EmailAddress, Proposal, Server, ServerKind, propose
from postroom.autoconfig.options import DiscoveryConfig
from postroom.autoconfig.resolver import Resolver, SrvRecord
from postroom.enums import AuthMethod, Security

# In order of preference when priorities tie: implicit TLS before STARTTLS (RFC 8314 §3.3),
# IMAP before POP3 (folders stay on the server). Plain-text variants are never proposed: RFC
# 8314 §5 lets a client insist on TLS, and _submission/_imap/_pop3 offer STARTTLS.
SERVICES = (
    ("_submissions._tcp", ServerKind.SMTP, Security.TLS),
    ("_submission._tcp", ServerKind.SMTP, Security.STARTTLS),
    ("_imaps._tcp", ServerKind.IMAP, Security.TLS),
    ("_imap._tcp", ServerKind.IMAP, Security.STARTTLS),
    ("_pop3s._tcp", ServerKind.POP3, Security.TLS),
    ("_pop3._tcp", ServerKind.POP3, Security.STARTTLS),
)
_LOGIN_ADVICE = (
    "The login proposed is the whole address (RFC 6186 §4); if it is refused, try the part "
    "before the @."
)


def _ranked(
    answers: list[list[SrvRecord]], email: EmailAddress
) -> list[tuple[int, int, int, Server]]:
    ranked = []
    for rank, ((_label, kind, security), records) in enumerate(zip(SERVICES, answers, strict=True)):
        # RFC 6186 §3 / RFC 2782: a target of "." says the service is not offered at all.
        if any(not r.target for r in records):
            continue
        for r in records:
            server = Server(kind, r.target, r.port, security, AuthMethod.PASSWORD, email.address)
            # Lowest priority first (the site's preference), then the heaviest weight; a fixed
            # choice instead of RFC 2782's weighted lottery, since one value fills the form.
            ranked.append((r.priority, -r.weight, rank, server))
    return sorted(ranked, key=lambda entry: entry[:3])


def _outside(hosts: set[str], domain: str) -> list[str]:
    return sorted(h for h in hosts if h != domain and not h.endswith("." + domain))


async def lookup(
    email: EmailAddress, config: DiscoveryConfig, resolver: Resolver
) -> Proposal | None:
    """Query every service at once; the best SMTP and the best IMAP/POP3 record are proposed."""
    answers = await asyncio.gather(
        *(resolver.srv(f"{label}.{email.domain}") for label, _kind, _security in SERVICES)
    )
    servers = [entry[3] for entry in _ranked(list(answers), email)]
    advice = [_LOGIN_ADVICE]
    foreign = _outside({s.host for s in servers}, email.domain)
    if foreign:
        # RFC 6186 §6: a target outside the queried domain should be confirmed by the user,
        # since DNS answers can be forged.
        advice.append(
            f"The DNS records of {email.domain} point to {', '.join(foreign)}: check that this "
            "is your provider's server before entering a password."
        )
    return propose("srv", servers, advice=tuple(advice))
