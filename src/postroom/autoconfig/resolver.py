"""DNS lookups for autodiscovery (dnspython, async): addresses, SRV and MX, each time-bounded."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdata
import dns.rdatatype
import dns.resolver
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.IN.SRV import SRV

from postroom.autoconfig.model import clean_host
from postroom.autoconfig.options import AddressPolicy, DiscoveryConfig

log = logging.getLogger("postroom.autoconfig")


@dataclass(frozen=True)
class SrvRecord:
    """One RFC 2782 answer; `target` is "" for ".", which means "service not offered"."""

    priority: int
    weight: int
    port: int
    target: str


def _build(config: DiscoveryConfig) -> dns.asyncresolver.Resolver | None:
    if config.nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = list(config.nameservers)
    else:
        try:
            resolver = dns.asyncresolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            log.warning("no DNS servers configured (no /etc/resolv.conf): autodiscovery is blind")
            return None
    resolver.port = config.dns_port
    # One timeout for a whole query (all servers, all retries): a silent server costs at most
    # this long, never the resolver's default minutes.
    resolver.timeout = config.dns_timeout
    resolver.lifetime = config.dns_timeout
    return resolver


class Resolver:
    """Lookups that answer "nothing" for every DNS failure: absent, refused, or too slow."""

    def __init__(self, config: DiscoveryConfig) -> None:
        self._resolver = _build(config)

    async def _query(self, name: str, rdtype: dns.rdatatype.RdataType) -> list[dns.rdata.Rdata]:
        if self._resolver is None:
            return []
        try:
            answer = await self._resolver.resolve(name, rdtype, search=False)
        except dns.exception.DNSException as exc:  # NXDOMAIN, NoAnswer, timeouts, SERVFAIL
            log.debug("DNS %s %s: %s", name, rdtype.name, type(exc).__name__)
            return []
        return list(answer)

    async def addresses(self, host: str) -> list[str]:
        """IPv4 then IPv6 addresses of `host` (an IP literal is its own answer)."""
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        v4, v6 = await asyncio.gather(
            self._query(host, dns.rdatatype.A), self._query(host, dns.rdatatype.AAAA)
        )
        return [str(rdata) for rdata in (*v4, *v6)]

    async def permitted(self, host: str, policy: AddressPolicy) -> list[str]:
        """The addresses of `host` that `policy` lets us contact. The caller connects to exactly
        these, so a second lookup answering differently (DNS rebinding) cannot get past."""
        found = await self.addresses(host)
        allowed = [a for a in found if policy.permits(ipaddress.ip_address(a))]
        if found and not allowed:
            log.info("not contacting %s: it resolves only to internal addresses %s", host, found)
        return allowed

    async def srv(self, name: str) -> list[SrvRecord]:
        records = []
        for rdata in await self._query(name, dns.rdatatype.SRV):
            if not isinstance(rdata, SRV):
                continue
            # RFC 2782: a target of "." means the service is decidedly not offered.
            is_root = rdata.target == dns.name.root
            host = "" if is_root else clean_host(rdata.target.to_text(omit_final_dot=True))
            if host is not None:
                records.append(SrvRecord(rdata.priority, rdata.weight, rdata.port, host))
        return records

    async def mx(self, domain: str) -> list[tuple[int, str]]:
        """(preference, host) pairs; hosts that are not valid names are dropped."""
        pairs = []
        for rdata in await self._query(domain, dns.rdatatype.MX):
            if isinstance(rdata, MX):
                host = clean_host(rdata.exchange.to_text(omit_final_dot=True))
                if host is not None:
                    pairs.append((rdata.preference, host))
        return pairs
