"""The chain: guess probes, which source wins, time bounds, and the internal-address policy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from postroom.autoconfig.chain import discover
from postroom.autoconfig.model import EmailAddress, ServerKind
from postroom.autoconfig.options import DiscoveryConfig, StandardPorts
from postroom.autoconfig.resolver import Resolver
from postroom.enums import Security
from postroom.mail.netguard import NetworkPolicy
from tests.autoconfig.conftest import LOOPBACK_ALLOWED
from tests.autoconfig.servers import LOOPBACK, DnsServer, Listener, Page, WebServer, closed_port
from tests.autoconfig.test_configxml import CONFIG

MakeConfig = Callable[..., DiscoveryConfig]
Listeners = Callable[[], Listener]
AUTOCONFIG_PATH = "/mail/config-v1.1.xml"


def _guess_ports(listeners: Listeners, **open_ports: bool) -> StandardPorts:
    """StandardPorts where the named ones (smtp_tls=True, …) listen and the rest are refused."""
    fields = ("smtp_tls", "smtp_starttls", "imap_tls", "imap_starttls", "pop3_tls", "pop3_starttls")
    return StandardPorts(
        **{f: listeners().port if open_ports.get(f) else closed_port() for f in fields}
    )


def _resolve_guess_hosts(dns_server: DnsServer, domain: str, *prefixes: str) -> None:
    for prefix in prefixes:
        dns_server.add(f"{prefix}.{domain}", "A", LOOPBACK)


async def test_guess_takes_the_most_preferred_port_that_answers(
    dns_server: DnsServer, make_config: MakeConfig, listeners: Listeners
) -> None:
    _resolve_guess_hosts(dns_server, "guess.test", "smtp", "imap", "mail")
    ports = _guess_ports(listeners, smtp_starttls=True, imap_tls=True, imap_starttls=True)

    proposal = await discover(EmailAddress.parse("jan@guess.test"), make_config(ports=ports))

    assert proposal.source == "guess"
    out, inc = proposal.outgoing, proposal.incoming
    assert out is not None and inc is not None
    assert (out.host, out.port, out.security) == (
        "smtp.guess.test",
        ports.smtp_starttls,
        Security.STARTTLS,
    )
    assert (inc.kind, inc.host, inc.port, inc.security) == (
        ServerKind.IMAP,
        "imap.guess.test",
        ports.imap_tls,
        Security.TLS,
    )
    assert out.username == inc.username == "jan@guess.test"
    assert any("guess" in text for text in proposal.advice)


async def test_guess_falls_back_to_mail_host_and_pop3(
    dns_server: DnsServer, make_config: MakeConfig, listeners: Listeners
) -> None:
    _resolve_guess_hosts(dns_server, "guess.test", "mail")  # no smtp./imap./pop3. names
    ports = _guess_ports(listeners, smtp_tls=True, pop3_tls=True)

    proposal = await discover(EmailAddress.parse("jan@guess.test"), make_config(ports=ports))

    assert proposal.outgoing is not None and proposal.outgoing.host == "mail.guess.test"
    assert proposal.incoming is not None
    assert (proposal.incoming.kind, proposal.incoming.host) == (ServerKind.POP3, "mail.guess.test")


async def test_nothing_found_is_an_answer_too(
    dns_server: DnsServer, make_config: MakeConfig
) -> None:
    proposal = await discover(EmailAddress.parse("jan@nothing.test"), make_config())

    assert (proposal.source, proposal.found) == ("none", False)
    assert proposal.outgoing is None and proposal.incoming is None
    assert "nothing.test" in proposal.advice[0]


async def test_a_preset_asks_no_dns_at_all(dns_server: DnsServer, make_config: MakeConfig) -> None:
    proposal = await discover(EmailAddress.parse("jan@wp.pl"), make_config())

    assert proposal.source == "preset:wp"
    assert dns_server.queries == []


async def test_autoconfig_beats_srv_and_mx(
    dns_server: DnsServer, https_server: WebServer, make_config: MakeConfig
) -> None:
    dns_server.add("autoconfig.known.test", "A", LOOPBACK)
    dns_server.add("_submissions._tcp.known.test", "SRV", "0 1 465 smtp.known.test.")
    dns_server.add("known.test", "MX", "10 aspmx.l.google.com.")
    body = CONFIG.replace(b"firma.test", b"known.test")
    https_server.serve("autoconfig.known.test", AUTOCONFIG_PATH, Page(body=body))

    proposal = await discover(EmailAddress.parse("jan@known.test"), make_config())

    assert proposal.source == "autoconfig"


async def test_srv_beats_mx_and_mx_beats_guess(
    dns_server: DnsServer, make_config: MakeConfig, listeners: Listeners
) -> None:
    dns_server.add("known.test", "MX", "10 aspmx.l.google.com.")
    _resolve_guess_hosts(dns_server, "known.test", "smtp", "imap")
    ports = _guess_ports(listeners, smtp_tls=True, imap_tls=True)

    by_mx = await discover(EmailAddress.parse("jan@known.test"), make_config(ports=ports))
    assert by_mx.source == "mx:google"

    dns_server.add("_imaps._tcp.known.test", "SRV", "0 1 993 imap.known.test.")
    by_srv = await discover(EmailAddress.parse("jan@known.test"), make_config(ports=ports))
    assert by_srv.source == "srv"


async def test_dns_that_never_answers_costs_at_most_the_bound(
    dns_server: DnsServer, make_config: MakeConfig
) -> None:
    dns_server.silent = True
    config = make_config(dns_timeout=30.0, total_timeout=1.0)

    started = time.monotonic()
    proposal = await discover(EmailAddress.parse("jan@silent.test"), config)
    elapsed = time.monotonic() - started

    assert proposal.source == "none"
    assert elapsed < 10.0  # the 1 s bound, not the 30 s DNS timeout (a margin for a busy machine)
    assert dns_server.queries == []  # silent: nothing was answered, the bound did the work


async def test_a_hanging_https_server_never_holds_the_answer_past_the_bound(
    dns_server: DnsServer, make_config: MakeConfig, listeners: Listeners
) -> None:
    hanging = listeners()  # accepts TCP, never completes TLS
    dns_server.add("autoconfig.slow.test", "A", LOOPBACK)
    dns_server.add("slow.test", "MX", "10 aspmx.l.google.com.")
    config = make_config(https_port=hanging.port, http_timeout=30.0, total_timeout=1.0)

    started = time.monotonic()
    proposal = await discover(EmailAddress.parse("jan@slow.test"), config)
    elapsed = time.monotonic() - started

    assert hanging.accepted >= 1
    # The higher-priority autoconfig never finished: at the bound the best answer so far wins.
    assert proposal.source == "mx:google"
    assert elapsed < 10.0  # the 1 s bound, not the 30 s HTTP timeout
    assert asyncio.all_tasks() == {asyncio.current_task()}  # nothing left running


async def test_the_http_timeout_lets_a_lower_source_answer_early(
    dns_server: DnsServer, make_config: MakeConfig, listeners: Listeners
) -> None:
    hanging = listeners()
    dns_server.add("autoconfig.slow.test", "A", LOOPBACK)
    dns_server.add("slow.test", "MX", "10 aspmx.l.google.com.")
    config = make_config(https_port=hanging.port, http_timeout=0.3, total_timeout=5.0)

    started = time.monotonic()
    proposal = await discover(EmailAddress.parse("jan@slow.test"), config)

    assert proposal.source == "mx:google"
    assert time.monotonic() - started < 4.0  # the 0.3 s HTTP timeout, not the 5 s bound


async def test_internal_addresses_are_not_contacted_unless_allowed(
    dns_server: DnsServer,
    https_server: WebServer,
    make_config: MakeConfig,
    listeners: Listeners,
) -> None:
    dns_server.add("autoconfig.firma.test", "A", LOOPBACK)
    https_server.serve("autoconfig.firma.test", AUTOCONFIG_PATH, Page(body=CONFIG))
    _resolve_guess_hosts(dns_server, "firma.test", "smtp", "imap")
    smtp = listeners()
    ports = StandardPorts(smtp_tls=smtp.port, imap_tls=smtp.port)

    refused = await discover(
        EmailAddress.parse("jan@firma.test"), make_config(policy=NetworkPolicy(), ports=ports)
    )
    assert refused.source == "none"
    assert https_server.state.requests == []
    assert smtp.accepted == 0

    allowed = await discover(
        EmailAddress.parse("jan@firma.test"), make_config(policy=LOOPBACK_ALLOWED, ports=ports)
    )
    assert allowed.source == "autoconfig"


async def test_metadata_and_private_addresses_stay_refused_when_loopback_is_allowed(
    dns_server: DnsServer, make_config: MakeConfig
) -> None:
    dns_server.add("meta.test", "A", "169.254.169.254")
    dns_server.add("lan.test", "A", "10.1.2.3")
    dns_server.add("mixed.test", "A", "10.1.2.3", "127.0.0.1")
    resolver = Resolver(make_config())

    assert await resolver.permitted("meta.test", LOOPBACK_ALLOWED) == []
    assert await resolver.permitted("lan.test", LOOPBACK_ALLOWED) == []
    assert await resolver.permitted("mixed.test", LOOPBACK_ALLOWED) == ["127.0.0.1"]
    assert await resolver.permitted("10.1.2.3", LOOPBACK_ALLOWED) == []  # literal, no DNS
