"""Bundled provider presets (presets.toml): match by address domain or by MX host."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from postroom.autoconfig.model import EmailAddress, Proposal, Server, ServerKind, propose
from postroom.enums import AuthMethod, Security


class PresetFileError(ValueError):
    """presets.toml does not have the expected shape; the message names the provider and key."""


@dataclass(frozen=True)
class ServerTemplate:
    """A server of a preset; host and username may hold placeholders."""

    kind: ServerKind
    host: str
    port: int
    security: Security
    auth: AuthMethod
    username: str

    def fill(self, email: EmailAddress, mx_host: str) -> Server:
        return Server(
            kind=self.kind,
            host=email.expand(self.host, mx_host),
            port=self.port,
            security=self.security,
            auth=self.auth,
            username=email.expand(self.username, mx_host),
        )


@dataclass(frozen=True)
class Preset:
    id: str
    name: str
    domains: tuple[str, ...]
    domain_suffixes: tuple[str, ...]
    mx: tuple[str, ...]
    servers: tuple[ServerTemplate, ...]  # incoming then outgoing, each in file order
    advice: str
    daily_send_limit: int | None
    stores_sent_mail: bool = False  # the provider files sent mail itself (C4)

    def propose(self, email: EmailAddress, source: str, mx_host: str = "") -> Proposal:
        proposal = propose(
            source,
            [server.fill(email, mx_host) for server in self.servers],
            provider=self.name,
            advice=(self.advice,) if self.advice else (),
            daily_send_limit=self.daily_send_limit,
        )
        assert proposal is not None  # every preset has servers (checked when loading)
        return proposal


def _strings(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = entry.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise PresetFileError(f"{where}: {key} must be a list of strings")
    return tuple(v.lower() for v in values)


def _server(
    entry: dict[str, Any], kind: ServerKind, defaults: dict[str, Any], where: str
) -> ServerTemplate:
    try:
        return ServerTemplate(
            kind=kind,
            host=str(entry["host"]),
            port=int(entry["port"]),
            security=Security(entry["security"]),
            auth=AuthMethod(entry.get("auth", defaults["auth"])),
            username=str(entry.get("username", defaults["username"])),
        )
    except (KeyError, ValueError) as exc:
        raise PresetFileError(f"{where}: bad server entry {entry!r} ({exc})") from exc


def _incoming_kind(entry: dict[str, Any], where: str) -> ServerKind:
    protocol = entry.get("protocol")
    if protocol not in (ServerKind.IMAP, ServerKind.POP3):
        raise PresetFileError(f"{where}: incoming protocol must be imap or pop3, not {protocol!r}")
    return ServerKind(protocol)


def _servers(entry: dict[str, Any], where: str) -> tuple[ServerTemplate, ...]:
    defaults = {"auth": entry.get("auth", "password"), "username": entry.get("username", "")}
    incoming = [
        _server(s, _incoming_kind(s, where), defaults, where) for s in entry.get("incoming", [])
    ]
    outgoing = [_server(s, ServerKind.SMTP, defaults, where) for s in entry.get("outgoing", [])]
    if not incoming or not outgoing:
        raise PresetFileError(f"{where}: needs at least one incoming and one outgoing server")
    return (*incoming, *outgoing)


def _preset(preset_id: str, entry: dict[str, Any]) -> Preset:
    where = f"presets.toml [providers.{preset_id}]"
    limit = entry.get("daily_send_limit")
    if limit is not None and (not isinstance(limit, int) or limit <= 0):
        raise PresetFileError(f"{where}: daily_send_limit must be a positive integer")
    return Preset(
        id=preset_id,
        name=str(entry.get("name", preset_id)),
        domains=_strings(entry, "domains", where),
        domain_suffixes=_strings(entry, "domain_suffixes", where),
        mx=_strings(entry, "mx", where),
        servers=_servers(entry, where),
        advice=str(entry.get("advice", "")),
        daily_send_limit=limit,
        stores_sent_mail=_flag(entry, "stores_sent_mail", where),
    )


def _flag(entry: dict[str, Any], key: str, where: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise PresetFileError(f"{where}: {key} must be true or false")
    return value


def parse_presets(text: str) -> tuple[Preset, ...]:
    """Presets from TOML text; raises PresetFileError naming the entry at fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PresetFileError(f"presets.toml is not valid TOML: {exc}") from exc
    presets = tuple(_preset(key, entry) for key, entry in data.get("providers", {}).items())
    seen: dict[str, str] = {}
    for preset in presets:
        for domain in preset.domains:
            if domain in seen:
                raise PresetFileError(f"{domain} is listed by both {seen[domain]} and {preset.id}")
            seen[domain] = preset.id
    return presets


@cache
def bundled_presets() -> tuple[Preset, ...]:
    """The presets shipped with Postroom (read once)."""
    text = resources.files("postroom.autoconfig").joinpath("presets.toml").read_text("utf-8")
    return parse_presets(text)


def _within(name: str, suffix: str) -> bool:
    return name == suffix or name.endswith("." + suffix)


def preset_for_domain(domain: str, presets: tuple[Preset, ...] | None = None) -> Preset | None:
    """The preset serving addresses at `domain`, by exact domain first, then by suffix."""
    presets = bundled_presets() if presets is None else presets
    domain = domain.lower().rstrip(".")
    exact = next((p for p in presets if domain in p.domains), None)
    if exact is not None:
        return exact
    return next((p for p in presets if any(_within(domain, s) for s in p.domain_suffixes)), None)


def preset_for_mx(mx_host: str, presets: tuple[Preset, ...] | None = None) -> Preset | None:
    """The preset whose MX patterns cover `mx_host`; the longest (most specific) pattern wins,
    so x.mail.protection.outlook.com is Microsoft 365 even if outlook.com were a pattern."""
    presets = bundled_presets() if presets is None else presets
    host = mx_host.lower().rstrip(".")
    matches = [(len(pattern), p) for p in presets for pattern in p.mx if _within(host, pattern)]
    if not matches:
        return None
    return max(matches, key=lambda match: match[0])[1]
