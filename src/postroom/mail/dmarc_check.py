"""DMARC (RFC 7489): the policy record, the organizational domain, identifier alignment."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import dns.exception
import dns.resolver
from publicsuffixlist import PublicSuffixList

_VERSION = "v=DMARC1"


class Policy(StrEnum):
    NONE = "none"  # monitoring only: receivers deliver as they would without DMARC
    QUARANTINE = "quarantine"  # into spam
    REJECT = "reject"


class Alignment(StrEnum):
    RELAXED = "r"  # the same organizational domain is enough (RFC 7489 §3.1.1)
    STRICT = "s"  # the very same domain


class DmarcLookupError(Exception):
    """DNS did not answer (timeout, SERVFAIL): nothing can be said about the policy."""


@dataclass(frozen=True)
class DmarcRecord:
    raw: str
    found_at: str  # "_dmarc.firma.pl", or the organizational domain's when that one applies
    policy: Policy  # p=, or sp= for a subdomain covered by its organization's record
    domain_policy: Policy  # p= as written
    subdomain_policy: Policy | None  # sp= as written
    adkim: Alignment
    aspf: Alignment
    percent: int  # pct=: the share of failing mail the policy is applied to


@cache
def _suffixes() -> PublicSuffixList:
    # The list bundled with the package: no download at run time, updated with the package.
    return PublicSuffixList()


def organizational_domain(domain: str) -> str:
    """RFC 7489 §3.2: the public suffix plus one label ("poczta.firma.com.pl" -> "firma.com.pl")."""
    name = domain.lower().rstrip(".")
    return _suffixes().privatesuffix(name) or name


def aligned(a: str, b: str, mode: Alignment) -> bool:
    """Whether two identifiers align: equal (strict), or of one organization (relaxed)."""
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    if mode is Alignment.STRICT:
        return a == b
    return organizational_domain(a) == organizational_domain(b)


def _tags(raw: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in raw.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), value.strip())
    return tags


def _policy(value: str | None) -> Policy | None:
    try:
        return Policy(value.lower()) if value else None
    except ValueError:
        return None


def _alignment(value: str | None) -> Alignment:
    return Alignment.STRICT if (value or "").lower() == "s" else Alignment.RELAXED


def _percent(value: str | None) -> int:
    try:
        return max(0, min(100, int(value))) if value else 100
    except ValueError:
        return 100


def parse_record(raw: str, found_at: str, *, subdomain: bool) -> DmarcRecord | None:
    """The record's tags, or None when it is no valid DMARC record (no v=DMARC1 first, or no
    valid p=; RFC 7489 §6.6.3 says such a record is ignored, as if there were none)."""
    first = raw.split(";", 1)[0].replace(" ", "")
    if first.upper() != _VERSION.upper():  # §6.3: v=DMARC1 must be the first tag
        return None
    tags = _tags(raw)
    domain_policy = _policy(tags.get("p"))
    if domain_policy is None:
        return None
    subdomain_policy = _policy(tags.get("sp"))
    return DmarcRecord(
        raw=raw,
        found_at=found_at,
        policy=(subdomain_policy or domain_policy) if subdomain else domain_policy,
        domain_policy=domain_policy,
        subdomain_policy=subdomain_policy,
        adkim=_alignment(tags.get("adkim")),
        aspf=_alignment(tags.get("aspf")),
        percent=_percent(tags.get("pct")),
    )


def _txt(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    try:
        answer = resolver.resolve(name, "TXT", search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return []
    except dns.exception.DNSException as exc:
        raise DmarcLookupError(f"{name}: {type(exc).__name__}") from exc
    if answer.rrset is None:
        return []
    return [b"".join(rdata.strings).decode("ascii", "replace") for rdata in answer.rrset]


def _record_at(name: str, texts: list[str], *, subdomain: bool) -> DmarcRecord | None:
    candidates = [t for t in texts if t.strip().upper().startswith("V=DMARC1")]
    if len(candidates) != 1:  # RFC 7489 §6.6.3: more than one record means none applies
        return None
    return parse_record(candidates[0], name, subdomain=subdomain)


def find_record(resolver: dns.resolver.Resolver, domain: str) -> DmarcRecord | None:
    """RFC 7489 §6.6.3: `_dmarc.<domain>`, else the organizational domain's record (with its
    sp= policy). None when neither has one; DmarcLookupError when DNS did not answer."""
    domain = domain.lower().rstrip(".")
    name = f"_dmarc.{domain}"
    record = _record_at(name, _txt(resolver, name), subdomain=False)
    organization = organizational_domain(domain)
    if record is not None or organization == domain:
        return record
    name = f"_dmarc.{organization}"
    return _record_at(name, _txt(resolver, name), subdomain=True)


def suggested_record(report_address: str | None = None) -> str:
    """A first record: monitoring only (p=none), which Gmail and Yahoo ask of bulk senders;
    tighten to quarantine once SPF or DKIM pass for all the domain's mail."""
    record = f"{_VERSION}; p=none"
    if report_address:
        record += f"; rua=mailto:{report_address}"
    return record
