"""Source "autoconfig": the domain's own config-v1.1.xml, where Thunderbird looks for it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from urllib.parse import quote

from postroom.autoconfig.configxml import parse_config_xml
from postroom.autoconfig.fetch import fetch_xml
from postroom.autoconfig.model import EmailAddress, Proposal, propose
from postroom.autoconfig.options import DiscoveryConfig
from postroom.autoconfig.race import cancel_all, first_by_priority, spawn
from postroom.autoconfig.resolver import Resolver
from postroom.enums import Security

_PLAIN_HTTP_ADVICE = (
    "These settings came over unencrypted HTTP, which anyone on the network path could have "
    "changed: check that the server names belong to your provider before entering a password."
)
_UNENCRYPTED_ADVICE = (
    "The provider's file proposes an unencrypted connection: the password would cross the "
    "network readable. Ask the provider for an encrypted (TLS or STARTTLS) port."
)


def _origin(scheme: str, host: str, port: int) -> str:
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" if port == default else f"{scheme}://{host}:{port}"


def candidate_urls(email: EmailAddress, config: DiscoveryConfig) -> list[str]:
    """Thunderbird's order (providers.md §2.1): autoconfig.<domain>, then the domain's
    .well-known; over HTTPS, and over HTTP only when the operator allows it."""
    domain = email.domain
    paths = [
        (f"autoconfig.{domain}", "/mail/config-v1.1.xml"),
        (domain, "/.well-known/autoconfig/mail/config-v1.1.xml"),
    ]
    # Thunderbird sends the address so that a server can answer per user; never in plain HTTP.
    query = "?emailaddress=" + quote(email.address, safe="@")
    urls = [_origin("https", host, config.https_port) + path + query for host, path in paths]
    if config.http_fallback:
        urls += [_origin("http", host, config.http_port) + path for host, path in paths]
    return urls


async def _from_url(
    url: str, email: EmailAddress, config: DiscoveryConfig, resolver: Resolver
) -> Proposal | None:
    body = await fetch_xml(url, config, resolver)
    parsed = parse_config_xml(body, email) if body is not None else None
    if parsed is None:
        return None
    name, servers, instructions = parsed
    found = propose("autoconfig", servers, provider=name)
    if found is None:
        return None
    advice = list(instructions)
    if url.startswith("http://"):
        advice.append(_PLAIN_HTTP_ADVICE)
    if any(s is not None and s.security is Security.NONE for s in (found.outgoing, found.incoming)):
        advice.append(_UNENCRYPTED_ADVICE)
    return replace(found, advice=tuple(advice))


async def lookup(
    email: EmailAddress, config: DiscoveryConfig, resolver: Resolver
) -> Proposal | None:
    """The first URL, in Thunderbird's order, that serves a usable file; all are tried at once,
    each bounded by the HTTP timeout."""

    async def bounded(url: str) -> Proposal | None:
        try:
            async with asyncio.timeout(config.http_timeout):
                return await _from_url(url, email, config, resolver)
        except TimeoutError:
            return None

    tasks = [spawn(bounded(url), f"autoconfig {url}") for url in candidate_urls(email, config)]
    try:
        return await first_by_priority(tasks)
    finally:
        await cancel_all(tasks)
