"""Source "autoconfig": the domain's config-v1.1.xml over real HTTPS from a local server."""

from __future__ import annotations

from collections.abc import Callable

from postroom.autoconfig.chain import discover
from postroom.autoconfig.model import EmailAddress, ServerKind
from postroom.autoconfig.options import DiscoveryConfig
from postroom.enums import AuthMethod, Security
from tests.autoconfig.servers import LOOPBACK, DnsServer, Page, WebServer
from tests.autoconfig.test_configxml import BILLION_LAUGHS, CONFIG

MakeConfig = Callable[..., DiscoveryConfig]
AUTOCONFIG_PATH = "/mail/config-v1.1.xml"
WELL_KNOWN_PATH = "/.well-known/autoconfig/mail/config-v1.1.xml"


def _config_for(domain: str) -> bytes:
    return CONFIG.replace(b"firma.test", domain.encode())


async def test_autoconfig_host_serves_the_settings_with_placeholders_filled(
    dns_server: DnsServer, https_server: WebServer, make_config: MakeConfig
) -> None:
    dns_server.add("autoconfig.firma.test", "A", LOOPBACK)
    https_server.serve("autoconfig.firma.test", AUTOCONFIG_PATH, Page(body=CONFIG))

    proposal = await discover(EmailAddress.parse("anna.nowak@firma.test"), make_config())

    assert (proposal.source, proposal.provider) == ("autoconfig", "Firma Hosting")
    assert proposal.incoming is not None and proposal.outgoing is not None
    assert proposal.incoming.kind is ServerKind.IMAP
    assert proposal.incoming.host == "imap.firma.test"  # from imap.%EMAILDOMAIN%
    assert proposal.incoming.username == "anna.nowak"  # from %EMAILLOCALPART%
    assert proposal.incoming.auth is AuthMethod.CRAM_MD5
    assert proposal.outgoing.username == "anna.nowak@firma.test"  # from %EMAILADDRESS%
    assert proposal.outgoing.security is Security.STARTTLS
    assert [s.kind for s in proposal.alternatives] == [ServerKind.POP3]
    assert "Turn on IMAP in the panel first." in proposal.advice
    # Thunderbird's query: the server may answer per address (over HTTPS only).
    assert https_server.state.requests == [
        f"autoconfig.firma.test {AUTOCONFIG_PATH}?emailaddress=anna.nowak@firma.test"
    ]


async def test_well_known_on_the_domain_is_the_second_place(
    dns_server: DnsServer, https_server: WebServer, make_config: MakeConfig
) -> None:
    dns_server.add("wellknown.test", "A", LOOPBACK)  # no autoconfig.wellknown.test at all
    https_server.serve("wellknown.test", WELL_KNOWN_PATH, Page(body=_config_for("wellknown.test")))

    proposal = await discover(EmailAddress.parse("anna@wellknown.test"), make_config())

    assert proposal.source == "autoconfig"
    assert proposal.outgoing is not None and proposal.outgoing.host == "smtp.wellknown.test"


async def test_autoconfig_host_wins_over_well_known(
    dns_server: DnsServer, https_server: WebServer, make_config: MakeConfig
) -> None:
    dns_server.add("autoconfig.both.test", "A", LOOPBACK)
    dns_server.add("both.test", "A", LOOPBACK)
    https_server.serve("autoconfig.both.test", AUTOCONFIG_PATH, Page(body=_config_for("both.test")))
    second = _config_for("both.test").replace(b"Firma Hosting", b"Second choice")
    https_server.serve("both.test", WELL_KNOWN_PATH, Page(body=second))

    proposal = await discover(EmailAddress.parse("anna@both.test"), make_config())

    assert proposal.provider == "Firma Hosting"


async def test_an_answer_that_is_not_xml_is_ignored(
    dns_server: DnsServer, https_server: WebServer, make_config: MakeConfig
) -> None:
    dns_server.add("autoconfig.firma.test", "A", LOOPBACK)
    https_server.serve(
        "autoconfig.firma.test", AUTOCONFIG_PATH, Page(body=CONFIG, content_type="text/html")
    )

    proposal = await discover(EmailAddress.parse("anna@firma.test"), make_config())

    assert proposal.source == "none"


async def test_billion_laughs_from_a_server_is_refused_safely(
    dns_server: DnsServer, https_server: WebServer, make_config: MakeConfig
) -> None:
    dns_server.add("autoconfig.firma.test", "A", LOOPBACK)
    https_server.serve("autoconfig.firma.test", AUTOCONFIG_PATH, Page(body=BILLION_LAUGHS))

    proposal = await discover(EmailAddress.parse("anna@firma.test"), make_config())

    assert https_server.state.requests  # it was fetched, and then refused
    assert proposal.source == "none"


async def test_a_document_larger_than_the_limit_is_refused(
    dns_server: DnsServer, https_server: WebServer, make_config: MakeConfig
) -> None:
    dns_server.add("autoconfig.firma.test", "A", LOOPBACK)
    padded = CONFIG.replace(b"</clientConfig>", b"<!--" + b"x" * 300_000 + b"--></clientConfig>")
    https_server.serve("autoconfig.firma.test", AUTOCONFIG_PATH, Page(body=padded))

    proposal = await discover(EmailAddress.parse("anna@firma.test"), make_config())

    assert proposal.source == "none"


async def test_an_untrusted_certificate_is_refused(
    dns_server: DnsServer, https_server: WebServer, make_config: MakeConfig
) -> None:
    dns_server.add("autoconfig.firma.test", "A", LOOPBACK)
    https_server.serve("autoconfig.firma.test", AUTOCONFIG_PATH, Page(body=CONFIG))

    proposal = await discover(
        EmailAddress.parse("anna@firma.test"), make_config(extra_ca_file=None)
    )

    assert proposal.source == "none"


async def test_a_certificate_for_another_name_is_refused(
    dns_server: DnsServer, https_server: WebServer, make_config: MakeConfig
) -> None:
    # The certificate covers firma.test and friends, not other.example: a man in the middle
    # with some valid certificate must not be able to answer for a domain.
    dns_server.add("autoconfig.other.example", "A", LOOPBACK)
    https_server.serve("autoconfig.other.example", AUTOCONFIG_PATH, Page(body=CONFIG))

    proposal = await discover(EmailAddress.parse("anna@other.example"), make_config())

    assert proposal.source == "none"


async def test_https_redirects_are_followed_but_never_to_plain_http(
    dns_server: DnsServer, https_server: WebServer, make_config: MakeConfig
) -> None:
    dns_server.add("autoconfig.redirect.test", "A", LOOPBACK)
    dns_server.add("autoconfig.firma.test", "A", LOOPBACK)
    target = f"https://autoconfig.firma.test:{https_server.port}{AUTOCONFIG_PATH}"
    https_server.serve(
        "autoconfig.redirect.test", AUTOCONFIG_PATH, Page(status=302, location=target)
    )
    https_server.serve("autoconfig.firma.test", AUTOCONFIG_PATH, Page(body=CONFIG))

    followed = await discover(EmailAddress.parse("anna@redirect.test"), make_config())
    assert followed.source == "autoconfig"

    plain = f"http://autoconfig.firma.test:{https_server.port}{AUTOCONFIG_PATH}"
    https_server.serve(
        "autoconfig.redirect.test", AUTOCONFIG_PATH, Page(status=302, location=plain)
    )
    refused = await discover(EmailAddress.parse("anna@redirect.test"), make_config())
    assert refused.source == "none"


async def test_plain_http_is_tried_only_when_the_operator_allows_it(
    dns_server: DnsServer, http_server: WebServer, make_config: MakeConfig
) -> None:
    dns_server.add("autoconfig.firma.test", "A", LOOPBACK)
    http_server.serve("autoconfig.firma.test", AUTOCONFIG_PATH, Page(body=CONFIG))

    default = await discover(EmailAddress.parse("anna@firma.test"), make_config())
    assert default.source == "none"
    assert http_server.state.requests == []

    allowed = await discover(EmailAddress.parse("anna@firma.test"), make_config(http_fallback=True))
    assert allowed.source == "autoconfig"
    assert any("unencrypted HTTP" in text for text in allowed.advice)
    # Over plain HTTP the address is not sent (anyone on the path could read it).
    assert http_server.state.requests == [f"autoconfig.firma.test {AUTOCONFIG_PATH}"]
