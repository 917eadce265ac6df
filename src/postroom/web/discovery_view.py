"""Autodiscovery as the setup wizard shows it: where the settings came from, advice, fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from postroom.enums import AuthMethod, IncomingProtocol
from postroom.services.autodiscovery import DiscoveredServer, DiscoveredSettings
from postroom.web.forms import display_value
from postroom.web.i18n import N_, Translator
from postroom.web.report_view import SECURITY_LABELS

# The account fields a discovery fills; each is swapped into the form (htmx out-of-band).
DISCOVERED_FIELDS = (
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_auth",
    "smtp_username",
    "incoming_protocol",
    "incoming_host",
    "incoming_port",
    "incoming_security",
    "incoming_auth",
    "incoming_username",
)
SOURCE_LABELS = {
    "preset": N_("{provider} provider settings"),
    "autoconfig": N_("The domain's autoconfig file"),
    "srv": N_("DNS SRV records"),
    "mx": N_("MX: mail hosted at {provider}"),
    "guess": N_("Guessed"),
}
# The lookup sources' own fixed advice (autoconfig/guess.py, srv.py, ispconfig.py), translated
# by their English text like the presets' advice; tests/web check they are still the same.
SOURCE_ADVICE = (
    N_(
        "These settings are a guess: a server answered on the standard port, but nothing "
        'confirmed that it holds your mailbox. Run "Test account" before saving, and if the '
        "login is refused, try the part of the address before the @ as the login."
    ),
    N_(
        "The login proposed is the whole address (RFC 6186 §4); if it is refused, try the "
        "part before the @."
    ),
    N_(
        "These settings came over unencrypted HTTP, which anyone on the network path could "
        "have changed: check that the server names belong to your provider before entering a "
        "password."
    ),
    N_(
        "The provider's file proposes an unencrypted connection: the password would cross the "
        "network readable. Ask the provider for an encrypted (TLS or STARTTLS) port."
    ),
)
_FOREIGN_SRV = re.compile(
    r"^The DNS records of (?P<domain>\S+) point to (?P<hosts>.+): check that this is your "
    r"provider's server before entering a password\.$"
)
FOREIGN_SRV = N_(
    "The DNS records of {domain} point to {hosts}: check that this is your provider's server "
    "before entering a password."
)


@dataclass(frozen=True)
class ServerLine:
    role: str  # outgoing, incoming
    text: str  # "IMAP · imap.gmail.com:993 · SSL/TLS"
    login: str


@dataclass(frozen=True)
class DiscoveryView:
    email: str
    domain: str
    found: bool
    source: str  # the source's kind: preset, autoconfig, srv, mx, guess, none
    source_label: str
    provider: str
    servers: list[ServerLine]
    alternatives: list[ServerLine]
    advice: list[str]
    oauth: bool  # the proposal logs in with OAuth2: sign in after saving


def translate_advice(text: str, translate: Translator) -> str:
    """Advice from presets and sources, translated by its English text; unknown text as is."""
    translated = translate(text)
    if translated != text:
        return translated
    found = _FOREIGN_SRV.match(text)
    if found:
        return translate(FOREIGN_SRV, domain=found["domain"], hosts=found["hosts"])
    return text


def source_label(source: str, provider: str, translate: Translator) -> str:
    kind = source.partition(":")[0]
    template = SOURCE_LABELS.get(kind)
    return translate(template, provider=provider or "?") if template else source


def _line(protocol: str, host: str, port: int | None, security: Any, translate: Translator) -> str:
    label = translate(SECURITY_LABELS.get(security, str(security)))
    return f"{protocol.upper()} · {host}:{port or ''} · {label}"


def _alternative(server: DiscoveredServer, translate: Translator) -> ServerLine:
    text = _line(server.protocol, server.host, server.port, server.security, translate)
    return ServerLine(server.role, text, server.username)


def _servers(found: DiscoveredSettings, translate: Translator) -> list[ServerLine]:
    lines = []
    if found.smtp_host:
        text = _line("smtp", found.smtp_host, found.smtp_port, found.smtp_security, translate)
        lines.append(ServerLine("outgoing", text, found.smtp_username))
    if found.incoming_protocol is not IncomingProtocol.NONE and found.incoming_host:
        text = _line(
            found.incoming_protocol.value,
            found.incoming_host,
            found.incoming_port,
            found.incoming_security,
            translate,
        )
        lines.append(ServerLine("incoming", text, found.incoming_username))
    return lines


def discovery_view(found: DiscoveredSettings, translate: Translator) -> DiscoveryView:
    domain = found.email.rpartition("@")[2]
    return DiscoveryView(
        email=found.email,
        domain=domain,
        found=found.found,
        source=found.source.partition(":")[0],
        source_label=source_label(found.source, found.provider, translate),
        provider=found.provider,
        servers=_servers(found, translate),
        alternatives=[_alternative(s, translate) for s in found.alternatives],
        # Nothing found: the wizard says so in its own words, naming the domain.
        advice=[translate_advice(a, translate) for a in found.advice] if found.found else [],
        oauth=AuthMethod.OAUTH2 in (found.smtp_auth, found.incoming_auth),
    )


def discovered_values(found: DiscoveredSettings) -> dict[str, Any]:
    """The form values a discovery proposes, shown as the form shows them."""
    values = {name: display_value(getattr(found, name)) for name in DISCOVERED_FIELDS}
    if found.incoming_protocol is IncomingProtocol.NONE:
        # No incoming server found: keep the protocol's default fields empty, not "none" + host.
        values |= {"incoming_host": "", "incoming_port": "", "incoming_username": ""}
    return values
