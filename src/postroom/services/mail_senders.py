"""Who sent a message: one of us, a machine, a free-mail person, or a client's domain."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from publicsuffixlist import PublicSuffixList
from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.addresses import InvalidAddressError, normalize_address
from postroom.config import Settings
from postroom.db.models import Account, User

# Mailboxes machines send from (RFC 3834 §2: never answer them; RFC 2142 role names), and the
# list-software conventions owner-* and *-request. Matched on the part before the @, with
# "_" and "." read as "-" (no_reply, do.not.reply).
_MACHINE_NAMES = frozenset({"mailer-daemon", "postmaster", "mailerdaemon", "listserv", "majordomo"})
_MACHINE_PREFIXES = ("noreply", "no-reply", "donotreply", "do-not-reply", "bounce", "owner-")
_MACHINE_SUFFIXES = ("-request", "-bounces", "-noreply", "-no-reply")


@dataclass(frozen=True)
class FreeMailDomains:
    """Exact domains, and names that are free mail under any public suffix ("gmx.*")."""

    domains: frozenset[str]
    any_suffix: frozenset[str]

    def __contains__(self, domain: str) -> bool:
        domain = domain.lower().rstrip(".")
        organisation = organisation_domain(domain)
        if domain in self.domains or organisation in self.domains:
            return True
        suffix = _psl().publicsuffix(organisation) or ""
        name = organisation.removesuffix("." + suffix) if suffix else organisation
        return name in self.any_suffix


def bare_address(value: str) -> str | None:
    """The address lower-cased, or None when it is not one (an empty or broken From)."""
    value = value.strip()
    if not value or "@" not in value:
        return None
    try:
        return normalize_address(value).lower()
    except InvalidAddressError:
        return None


def is_machine_address(address: str) -> bool:
    local = address.rpartition("@")[0].lower().replace("_", "-").replace(".", "-")
    return (
        local in _MACHINE_NAMES
        or local.startswith(_MACHINE_PREFIXES)
        or local.endswith(_MACHINE_SUFFIXES)
    )


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()  # the list ships with the package; parsed once per process


def organisation_domain(domain: str) -> str:
    """The registrable domain (mail.firma.com.pl -> firma.com.pl), or the domain itself."""
    domain = domain.lower().rstrip(".")
    return _psl().privatesuffix(domain) or domain


def client_name(domain: str) -> str:
    """A readable company name from a domain: kancelaria-nowak.com.pl -> Kancelaria-Nowak."""
    organisation = organisation_domain(domain)
    suffix = _psl().publicsuffix(organisation) or ""
    name = organisation.removesuffix("." + suffix) if suffix else organisation
    with contextlib.suppress(UnicodeError):  # xn--dzka-piekarnia-kob77j -> łódzka-piekarnia
        name = name.encode("ascii").decode("idna")
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-")) or domain


def _parse_domains(text: str) -> tuple[set[str], set[str]]:
    exact: set[str] = set()
    wildcard: set[str] = set()
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip().lower()
        if entry.endswith(".*"):
            wildcard.add(entry[:-2])
        elif entry:
            exact.add(entry)
    return exact, wildcard


@lru_cache(maxsize=4)
def _load_free_mail(extra_file: Path | None) -> FreeMailDomains:
    text = resources.files("postroom.services").joinpath("freemail_domains.txt").read_text()
    exact, wildcard = _parse_domains(text)
    if extra_file is not None:
        more_exact, more_wildcard = _parse_domains(extra_file.read_text(encoding="utf-8"))
        exact |= more_exact
        wildcard |= more_wildcard
    return FreeMailDomains(frozenset(exact), frozenset(wildcard))


def free_mail_domains(settings: Settings) -> FreeMailDomains:
    return _load_free_mail(settings.freemail_domains_file)


def own_addresses(session: Session, settings: Settings) -> frozenset[str]:
    """Every address of the session's company: its accounts, its users' logins, and the
    platform relay's sender (mail from any of them is never from a client)."""
    found = set(session.scalars(select(Account.email_address)))
    found |= set(session.scalars(select(User.email)))
    if settings.relay_from_address:
        found.add(settings.relay_from_address)
    return frozenset(address.lower() for address in found)
