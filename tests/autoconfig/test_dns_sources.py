"""Sources "srv" (RFC 6186) and "mx:<preset>" against a real local DNS server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from postroom.autoconfig.chain import discover
from postroom.autoconfig.model import EmailAddress, ServerKind
from postroom.autoconfig.options import DiscoveryConfig
from postroom.enums import AuthMethod, Security
from tests.autoconfig.servers import DnsServer

MakeConfig = Callable[..., DiscoveryConfig]


async def test_srv_records_give_submission_and_imap(
    dns_server: DnsServer, make_config: MakeConfig
) -> None:
    dns_server.add("_submission._tcp.srv.test", "SRV", "0 1 587 mail.srv.test.")
    dns_server.add("_imaps._tcp.srv.test", "SRV", "0 1 993 imap.srv.test.")
    dns_server.add("_pop3s._tcp.srv.test", "SRV", "10 1 995 pop.srv.test.")

    proposal = await discover(EmailAddress.parse("ewa@srv.test"), make_config())

    assert proposal.source == "srv"
    out, inc = proposal.outgoing, proposal.incoming
    assert out is not None and inc is not None
    assert (out.host, out.port, out.security) == ("mail.srv.test", 587, Security.STARTTLS)
    assert (inc.kind, inc.host, inc.port, inc.security) == (
        ServerKind.IMAP,
        "imap.srv.test",
        993,
        Security.TLS,
    )
    assert out.username == inc.username == "ewa@srv.test"  # RFC 6186 §4: full address first
    assert out.auth is AuthMethod.PASSWORD
    assert [s.host for s in proposal.alternatives] == ["pop.srv.test"]


async def test_srv_priority_beats_protocol_preference(
    dns_server: DnsServer, make_config: MakeConfig
) -> None:
    # RFC 6186 §3.4: the lowest priority across IMAP and POP3 is the site's preference.
    dns_server.add("_imaps._tcp.srv.test", "SRV", "20 1 993 imap.srv.test.")
    dns_server.add("_pop3s._tcp.srv.test", "SRV", "5 1 995 pop.srv.test.")
    dns_server.add("_submissions._tcp.srv.test", "SRV", "0 1 465 smtp.srv.test.")
    dns_server.add("_submission._tcp.srv.test", "SRV", "0 1 587 smtp.srv.test.")

    proposal = await discover(EmailAddress.parse("ewa@srv.test"), make_config())

    assert proposal.incoming is not None and proposal.incoming.kind is ServerKind.POP3
    # Equal priority: implicit TLS (RFC 8314 _submissions) before STARTTLS.
    assert proposal.outgoing is not None
    assert (proposal.outgoing.port, proposal.outgoing.security) == (465, Security.TLS)


async def test_srv_target_dot_means_not_offered(
    dns_server: DnsServer, make_config: MakeConfig
) -> None:
    dns_server.add("_imaps._tcp.srv.test", "SRV", "0 0 0 .")
    dns_server.add("_imap._tcp.srv.test", "SRV", "0 0 0 .")
    dns_server.add("_pop3s._tcp.srv.test", "SRV", "0 1 995 pop.srv.test.")

    proposal = await discover(EmailAddress.parse("ewa@srv.test"), make_config())

    assert proposal.source == "srv"
    assert proposal.incoming is not None and proposal.incoming.kind is ServerKind.POP3
    assert proposal.outgoing is None
    assert all(s.kind is not ServerKind.IMAP for s in proposal.alternatives)


async def test_srv_pointing_outside_the_domain_asks_the_user_to_check(
    dns_server: DnsServer, make_config: MakeConfig
) -> None:
    dns_server.add("_submissions._tcp.srv.test", "SRV", "0 1 465 smtp.hoster.example.")

    proposal = await discover(EmailAddress.parse("ewa@srv.test"), make_config())

    assert proposal.source == "srv"
    assert any("smtp.hoster.example" in text for text in proposal.advice)


@pytest.mark.parametrize(
    ("mx_host", "source", "smtp_host", "imap_host", "limit"),
    [
        ("aspmx.l.google.com", "mx:google", "smtp.gmail.com", "imap.gmail.com", 2000),
        (
            "biuro-pl.mail.protection.outlook.com",
            "mx:microsoft365",
            "smtp.office365.com",
            "outlook.office365.com",
            10000,
        ),
        ("mx1.mail.ovh.net", "mx:ovh", "ssl0.ovh.net", "ssl0.ovh.net", None),
        (
            "serwer123456.home.pl",
            "mx:homepl",
            "serwer123456.home.pl",
            "serwer123456.home.pl",
            None,
        ),
        (
            "serwer654321.nazwa.pl",
            "mx:nazwapl",
            "serwer654321.nazwa.pl",
            "serwer654321.nazwa.pl",
            None,
        ),
        ("mx.interia.pl", "mx:interia", "poczta.interia.pl", "poczta.interia.pl", None),
        ("mx.zoho.eu", "mx:zoho-eu", "smtp.zoho.eu", "imap.zoho.eu", None),
    ],
)
async def test_a_custom_domain_is_recognised_by_its_mx_host(
    dns_server: DnsServer,
    make_config: MakeConfig,
    mx_host: str,
    source: str,
    smtp_host: str,
    imap_host: str,
    limit: int | None,
) -> None:
    dns_server.add("biuro.test", "MX", f"10 {mx_host}.")

    proposal = await discover(EmailAddress.parse("ksiegowa@biuro.test"), make_config())

    assert proposal.source == source
    assert proposal.outgoing is not None and proposal.incoming is not None
    assert proposal.outgoing.host == smtp_host
    assert proposal.incoming.host == imap_host
    assert proposal.outgoing.username == "ksiegowa@biuro.test"
    assert proposal.daily_send_limit == limit


async def test_the_most_preferred_mx_decides(
    dns_server: DnsServer, make_config: MakeConfig
) -> None:
    dns_server.add("biuro.test", "MX", "20 aspmx.l.google.com.", "5 mx1.mail.ovh.net.")

    proposal = await discover(EmailAddress.parse("ksiegowa@biuro.test"), make_config())

    assert proposal.source == "mx:ovh"


async def test_an_unknown_mx_is_no_answer(dns_server: DnsServer, make_config: MakeConfig) -> None:
    dns_server.add("biuro.test", "MX", "10 mx.own-server.test.")

    proposal = await discover(EmailAddress.parse("ksiegowa@biuro.test"), make_config())

    assert proposal.source == "none"
    assert not proposal.found
