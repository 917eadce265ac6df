"""SPF (RFC 7208) evaluated by pyspf, its DNS questions asked through the resolver we are given."""

# pyspf takes its DNS from one module-level function, `spf.DNSLookup` (its documented seam for
# choosing a DNS library). We install a function that asks the resolver of the check running
# in this thread or task (a ContextVar), so each check uses Postroom's resolver, its servers
# and its TTL cache, and two checks at once never see each other's resolver.

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import dns.exception
import dns.resolver
import spf

# RFC 7208 §4.6.4: at most 10 mechanisms and modifiers that cause DNS lookups.
MAX_LOOKUPS = spf.MAX_LOOKUP
_SPF_PREFIX = "v=spf1"


class SpfResult(StrEnum):
    """RFC 7208 §2.6."""

    PASS = "pass"  # noqa: S105  (an SPF result, not a secret)
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    PERMERROR = "permerror"  # the record is broken: syntax, or more than 10 lookups
    TEMPERROR = "temperror"  # DNS did not answer


# From the best result to the worst: the verdict for a server with several addresses is the
# worst of them, since mail may leave from any.
_ORDER = [
    SpfResult.PASS,
    SpfResult.NEUTRAL,
    SpfResult.NONE,
    SpfResult.TEMPERROR,
    SpfResult.SOFTFAIL,
    SpfResult.PERMERROR,
    SpfResult.FAIL,
]


@dataclass(frozen=True)
class SpfOutcome:
    result: SpfResult
    ip: str
    reason: str  # pyspf's words: "sender SPF authorized", "Too many DNS lookups"


_RESOLVER: ContextVar[dns.resolver.Resolver | None] = ContextVar("spf_resolver", default=None)
_LIBRARY_LOOKUP = spf.DNSLookup


def _value(qtype: str, rdata: Any) -> Any:
    """An answer in the shape pyspf's own dnspython driver gives it."""
    if qtype in ("A", "AAAA"):
        return rdata.address
    if qtype == "MX":
        return (rdata.preference, rdata.exchange.to_text(omit_final_dot=True))
    if qtype == "PTR":
        return rdata.target.to_text(omit_final_dot=True)
    return tuple(rdata.strings)  # TXT, SPF: the strings of one record, joined by pyspf


def _lookup(name: str, qtype: str, strict: object = True, timeout: float = 20) -> list[Any]:
    resolver = _RESOLVER.get()
    if resolver is None:  # not inside check_host(): pyspf's own driver, as if we were absent
        found: list[Any] = _LIBRARY_LOOKUP(name, qtype, strict, timeout)
        return found
    try:
        answer = resolver.resolve(name, qtype, search=False, raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as exc:  # timeout, SERVFAIL from every server
        raise spf.TempError(f"DNS {type(exc).__name__} for {name} {qtype}") from exc
    if answer.rrset is None:
        return []
    return [((name, qtype), _value(qtype, rdata)) for rdata in answer.rrset]


spf.DNSLookup = _lookup


@contextmanager
def _using(resolver: dns.resolver.Resolver) -> Iterator[None]:
    token = _RESOLVER.set(resolver)
    try:
        yield
    finally:
        _RESOLVER.reset(token)


def check_host(
    resolver: dns.resolver.Resolver, *, ip: str, sender: str, helo: str, timeout: float
) -> SpfOutcome:
    """RFC 7208 check_host(): may `ip` send mail whose envelope sender (MAIL FROM) is `sender`?

    `timeout` bounds the whole evaluation, every lookup of every include together.
    """
    with _using(resolver):
        query = spf.query(i=ip, s=sender, h=helo, timeout=timeout, querytime=timeout)
        result, _code, reason = query.check()
    return SpfOutcome(SpfResult(result), ip, str(reason))


def check_server(
    resolver: dns.resolver.Resolver,
    *,
    addresses: list[str],
    sender: str,
    helo: str,
    timeout: float,
) -> SpfOutcome:
    """The worst outcome over all of a server's addresses (mail may leave from any of them)."""
    outcomes = [
        check_host(resolver, ip=ip, sender=sender, helo=helo, timeout=timeout) for ip in addresses
    ]
    if not outcomes:
        return SpfOutcome(SpfResult.TEMPERROR, "", f"{helo} has no address in DNS")
    return max(outcomes, key=lambda o: _ORDER.index(o.result))


def published_record(resolver: dns.resolver.Resolver, domain: str) -> str | None:
    """The domain's SPF record as published (TXT strings joined), or None when there is none.

    Two records are returned joined by " | ": that is itself an error (permerror, §4.5).
    """
    with _using(resolver):
        try:
            found = _lookup(domain, "TXT")
        except spf.TempError:
            return None
    records = [b"".join(strings).decode("ascii", "replace") for _key, strings in found]
    spf_records = [
        r for r in records if r.lower() == _SPF_PREFIX or r.lower().startswith("v=spf1 ")
    ]
    return " | ".join(spf_records) if spf_records else None


def mechanism_for(addresses: list[str], include_domain: str | None) -> list[str]:
    """What authorises a server: its provider's `include:` when there is one, else its IPs."""
    if include_domain:
        return [f"include:{include_domain}"]
    terms = []
    for address in addresses:
        ip = ipaddress.ip_address(address)
        terms.append(f"ip{ip.version}:{ip}")
    return terms


def suggested_record(existing: str | None, terms: list[str]) -> str:
    """The record to publish: the existing one with `terms` added before its `all` (or its
    redirect), or a new one ending in ~all (softfail: safe while the list is completed)."""
    if existing is None or " | " in existing:
        return " ".join([_SPF_PREFIX, *terms, "~all"])
    words = existing.split()
    missing = [t for t in terms if t.lower() not in (w.lower() for w in words)]
    ending = next(
        (
            i
            for i, w in enumerate(words)
            if w.lstrip("+-~?").lower() == "all" or w.startswith("redirect=")
        ),
        len(words),
    )
    return " ".join([*words[:ending], *missing, *words[ending:]])
