"""Records the deliverability tests publish: a provider, its SMTP servers, customer domains."""

from __future__ import annotations

from tests.fixtures.dns_server import Zone

# TEST-NET addresses (RFC 5737): never contacted, only evaluated against SPF records.
SMTP_IP = "192.0.2.10"
OTHER_IP = "198.51.100.7"
SMTP_HOST = "smtp.provider.test"
ROGUE_HOST = "smtp.elsewhere.test"


def provider(zone: Zone) -> None:
    """A mail provider whose SPF record covers its SMTP server, and a server outside it."""
    zone.add(f"{SMTP_HOST}. 300 IN A {SMTP_IP}")
    zone.txt("provider.test", "v=spf1 ip4:192.0.2.0/28 -all")
    zone.add(f"{ROGUE_HOST}. 300 IN A {OTHER_IP}")


def lookup_chain(zone: Zone, domain: str, depth: int) -> None:
    """`domain`'s SPF record reaches its last include after `depth` lookups."""
    zone.txt(domain, f"v=spf1 include:c1.{domain} -all")
    for level in range(1, depth):
        zone.txt(f"c{level}.{domain}", f"v=spf1 include:c{level + 1}.{domain} -all")
    zone.txt(f"c{depth}.{domain}", "v=spf1 ip4:192.0.2.0/28 -all")
