"""Fill an account's server settings from its address (A5): Settings in, account fields out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from postroom.addresses import InvalidAddressError, normalize_address
from postroom.autoconfig.chain import discover
from postroom.autoconfig.model import EmailAddress, Proposal, Server, ServerKind
from postroom.autoconfig.options import DiscoveryConfig
from postroom.config import Settings
from postroom.enums import AuthMethod, IncomingProtocol, Security
from postroom.errors import ValidationError
from postroom.mail.netguard import NetworkPolicy, parse_networks


class DiscoveredServer(BaseModel):
    """Another server the source named, for the user to pick instead of the proposed one."""

    role: Literal["outgoing", "incoming"]
    protocol: Literal["smtp", "imap", "pop3"]
    host: str
    port: int
    security: Security
    auth: AuthMethod
    username: str


class DiscoveredSettings(BaseModel):
    """Proposed settings, named as the account fields they fill; every value stays editable."""

    email: str
    found: bool = Field(description="False when no source answered: enter the settings by hand.")
    source: str = Field(
        description='Which source answered: "preset:<id>", "autoconfig", "srv", "mx:<id>", '
        '"guess", or "none".'
    )
    provider: str = Field(description="The provider's name, if the source gave one.")
    advice: list[str] = Field(description="What the user must do or check (app password, …).")
    daily_send_limit: int | None = Field(description="The provider's daily sending limit.")
    smtp_host: str = ""
    smtp_port: int | None = None
    smtp_security: Security = Security.STARTTLS
    smtp_auth: AuthMethod = AuthMethod.PASSWORD
    smtp_username: str = ""
    incoming_protocol: IncomingProtocol = IncomingProtocol.NONE
    incoming_host: str = ""
    incoming_port: int | None = None
    incoming_security: Security = Security.TLS
    incoming_auth: AuthMethod = AuthMethod.PASSWORD
    incoming_username: str = ""
    alternatives: list[DiscoveredServer] = Field(default_factory=list)


def discovery_config(settings: Settings) -> DiscoveryConfig:
    """The chain's network settings from the operator's configuration."""
    nameservers = tuple(n.strip() for n in settings.dns_nameservers.split(",") if n.strip())
    return DiscoveryConfig(
        policy=NetworkPolicy(allowed=parse_networks(settings.allowed_networks)),
        nameservers=nameservers,
        dns_port=settings.dns_port,
        http_fallback=settings.autoconfig_http_fallback,
        extra_ca_file=settings.extra_ca_file,
        total_timeout=settings.autodiscovery_timeout_seconds,
    )


def _outgoing_fields(server: Server | None) -> dict[str, object]:
    if server is None:
        return {}
    return {
        "smtp_host": server.host,
        "smtp_port": server.port,
        "smtp_security": server.security,
        "smtp_auth": server.auth,
        "smtp_username": server.username,
    }


def _incoming_fields(server: Server | None) -> dict[str, object]:
    if server is None:
        return {}
    return {
        "incoming_protocol": IncomingProtocol(server.kind.value),
        "incoming_host": server.host,
        "incoming_port": server.port,
        "incoming_security": server.security,
        "incoming_auth": server.auth,
        "incoming_username": server.username,
    }


def _alternative(server: Server) -> DiscoveredServer:
    return DiscoveredServer(
        role="outgoing" if server.kind is ServerKind.SMTP else "incoming",
        protocol=server.kind.value,
        host=server.host,
        port=server.port,
        security=server.security,
        auth=server.auth,
        username=server.username,
    )


def as_settings(email: str, proposal: Proposal) -> DiscoveredSettings:
    return DiscoveredSettings.model_validate(
        {
            "email": email,
            "found": proposal.found,
            "source": proposal.source,
            "provider": proposal.provider,
            "advice": list(proposal.advice),
            "daily_send_limit": proposal.daily_send_limit,
            **_outgoing_fields(proposal.outgoing),
            **_incoming_fields(proposal.incoming),
            "alternatives": [_alternative(s) for s in proposal.alternatives],
        }
    )


def parse_email(email: str) -> EmailAddress:
    """The address, validated like account addresses; ValidationError (field "email") if not."""
    try:
        return EmailAddress.parse(normalize_address(email))
    except (InvalidAddressError, ValueError) as exc:
        raise ValidationError.for_field("email", str(exc)) from exc


async def discover_settings(*, settings: Settings, email: str) -> DiscoveredSettings:
    """Proposed settings for `email` within settings.autodiscovery_timeout_seconds."""
    address = parse_email(email)
    proposal = await discover(address, discovery_config(settings))
    return as_settings(address.address, proposal)
