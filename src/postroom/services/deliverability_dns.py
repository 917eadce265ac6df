"""DNS for the sender-domain checks: the operator's servers, each answer kept for its TTL."""

# dnspython's own cache keys answers by (name, type, class) and drops each when its TTL runs
# out (negative answers too, for the SOA minimum of the zone, RFC 2308), so a domain checked
# by every "Test account" of a company is asked once per TTL, not once per test. One cache per
# set of DNS servers: answers from one server set are never served for another.

from __future__ import annotations

import ipaddress
import logging
import threading

import dns.exception
import dns.resolver

from postroom.config import Settings

log = logging.getLogger("postroom.deliverability")

_caches: dict[tuple[tuple[str, ...], int], dns.resolver.Cache] = {}
_caches_lock = threading.Lock()


def nameservers_of(settings: Settings) -> tuple[str, ...]:
    return tuple(p.strip() for p in settings.dns_nameservers.split(",") if p.strip())


def _cache_for(key: tuple[tuple[str, ...], int]) -> dns.resolver.Cache:
    with _caches_lock:
        return _caches.setdefault(key, dns.resolver.Cache())


def clear_cache() -> None:
    """Forget every cached answer (a test that changes its zone, an operator's reload)."""
    with _caches_lock:
        for cache in _caches.values():
            cache.flush()


def resolver_for(settings: Settings, *, cached: bool = True) -> dns.resolver.Resolver | None:
    """A resolver asking POSTROOM_DNS_NAMESERVERS (port POSTROOM_DNS_PORT), else the system's;
    None when the machine has no DNS configuration at all.

    `cached=False` asks the servers afresh: "verify" right after publishing a record must not
    be answered from a cached "no such record".
    """
    servers = nameservers_of(settings)
    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = list(servers)
    else:
        try:
            resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            log.warning("no DNS servers configured (no /etc/resolv.conf): no sender-domain checks")
            return None
    resolver.port = settings.dns_port
    # One bound per question, every server and retry included: a silent server costs at most
    # this, not dnspython's default of several seconds per server.
    resolver.timeout = resolver.lifetime = settings.autodiscovery_timeout_seconds
    if cached:
        key = tuple(str(server) for server in resolver.nameservers)
        resolver.cache = _cache_for((key, settings.dns_port))
    return resolver


def addresses(resolver: dns.resolver.Resolver, host: str) -> list[str]:
    """IPv4 then IPv6 addresses of `host`; an IP literal is its own answer. [] when DNS has
    none or does not answer (the caller reports that, it never blocks anything)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    found: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            answer = resolver.resolve(host, rdtype, search=False, raise_on_no_answer=False)
        except dns.exception.DNSException as exc:
            log.info("DNS %s %s: %s", host, rdtype, type(exc).__name__)
            continue
        if answer.rrset is not None:
            found += [rdata.address for rdata in answer.rrset]
    return found
