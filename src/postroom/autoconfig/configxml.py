"""Parse Thunderbird's config-v1.1.xml into servers, safely (defusedxml, no DTD at all)."""

from __future__ import annotations

import logging
import re
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from postroom.autoconfig.model import EmailAddress, Server, ServerKind, clean_host
from postroom.enums import AuthMethod, Security

log = logging.getLogger("postroom.autoconfig")

_SECURITY = {"ssl": Security.TLS, "starttls": Security.STARTTLS, "plain": Security.NONE}
# Thunderbird's names and their old aliases (providers.md §2.2). GSSAPI and NTLM are not
# supported by Postroom: such an entry is skipped and the next <authentication> is tried.
_AUTH = {
    "password-cleartext": AuthMethod.PASSWORD,
    "plain": AuthMethod.PASSWORD,
    "password-encrypted": AuthMethod.CRAM_MD5,
    "secure": AuthMethod.CRAM_MD5,
    "oauth2": AuthMethod.OAUTH2,
    "none": AuthMethod.NONE,
    "client-ip-address": AuthMethod.NONE,
    "smtp-after-pop": AuthMethod.NONE,
}
# OAuth2 is usable only where Postroom has an OAuth2 provider (Google, Microsoft), as in
# Thunderbird, which accepts OAuth2 only for hosts in its built-in provider table.
_OAUTH2_DOMAINS = ("gmail.com", "googlemail.com", "office365.com", "outlook.com")
_KINDS = {"imap": ServerKind.IMAP, "pop3": ServerKind.POP3, "smtp": ServerKind.SMTP}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_TEXT = 500  # advice text from a stranger's file is shown to the user: keep it short


def _text(element: Element, tag: str) -> str:
    return (element.findtext(tag) or "").strip()


def _oauth2_capable(host: str) -> bool:
    return any(host == d or host.endswith("." + d) for d in _OAUTH2_DOMAINS)


def _auth(element: Element, host: str) -> AuthMethod | None:
    names = [(a.text or "").strip().lower() for a in element.findall("authentication")]
    if not names:
        return AuthMethod.PASSWORD
    for name in names:
        method = _AUTH.get(name)
        if method is AuthMethod.OAUTH2 and not _oauth2_capable(host):
            continue
        if method is not None:
            return method
    return None


def _port(element: Element) -> int | None:
    text = _text(element, "port")
    port = int(text) if text.isdigit() else 0
    return port if 0 < port < 65536 else None


def _server(element: Element, email: EmailAddress) -> Server | None:
    """One <incomingServer>/<outgoingServer>, or None if Postroom cannot use it."""
    kind = _KINDS.get(element.get("type", ""))
    host = clean_host(email.expand(_text(element, "hostname")))
    security = _SECURITY.get(_text(element, "socketType").lower())
    port = _port(element)
    # No username element: RFC 6186 §4's advice, the full address, is the better first try.
    username = email.expand(_text(element, "username") or "%EMAILADDRESS%")
    if kind is None or host is None or security is None or port is None:
        return None
    if _CONTROL.search(username) or len(username) > 320:
        return None
    auth = _auth(element, host)
    if auth is None:
        return None
    return Server(kind, host, port, security, auth, username)


def _servers(provider: Element, email: EmailAddress) -> list[Server]:
    incoming = [
        s
        for e in provider.findall("incomingServer")
        if (s := _server(e, email)) and s.kind is not ServerKind.SMTP
    ]
    outgoing = [
        s
        for e in provider.findall("outgoingServer")
        if (s := _server(e, email)) and s.kind is ServerKind.SMTP
    ]
    # The first entry is the provider's choice; an unencrypted one is only proposed when the
    # file offers nothing encrypted (sorting is stable, so the order is otherwise kept).
    servers = incoming + outgoing
    return sorted(servers, key=lambda s: s.security is Security.NONE)


def _instructions(root: Element) -> tuple[str, ...]:
    texts = []
    for element in root.iter("instruction"):
        if element.get("lang") not in (None, "en"):
            continue
        text = _CONTROL.sub(" ", (element.text or "").strip())[:_MAX_TEXT]
        if text:
            texts.append(text)
    return tuple(texts)


def parse_config_xml(
    body: bytes, email: EmailAddress
) -> tuple[str, list[Server], tuple[str, ...]] | None:
    """(provider name, usable servers in preference order, instructions) from a config file, or
    None if it is not one. A DTD, and so every entity expansion attack (billion laughs,
    external entities), is refused before anything is expanded."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        log.info("autoconfig document refused: %s", type(exc).__name__)
        return None
    provider = root.find("emailProvider") if root.tag == "clientConfig" else None
    if provider is None:
        return None
    name = _CONTROL.sub(" ", _text(provider, "displayName"))[:_MAX_TEXT]
    return name, _servers(provider, email), _instructions(root)
