"""A5: every preset provider's address gets the right settings, with no network at all."""

from __future__ import annotations

import pytest

from postroom.autoconfig.chain import discover
from postroom.autoconfig.model import EmailAddress
from postroom.autoconfig.options import DiscoveryConfig
from postroom.autoconfig.presets import (
    PresetFileError,
    bundled_presets,
    parse_presets,
    preset_for_domain,
    preset_for_mx,
)
from postroom.mail.netguard import NetworkPolicy

# A resolver that could never answer: a preset must not need DNS or anything else.
OFFLINE = DiscoveryConfig(
    policy=NetworkPolicy(), nameservers=("192.0.2.1",), dns_timeout=0.1, total_timeout=0.2
)

# address, source, provider,
# (smtp host, port, security, auth, login), (protocol, host, port, security, auth, login)
EXPECTED = [
    (
        "jan.kowalski@gmail.com",
        "preset:gmail",
        "Gmail",
        ("smtp.gmail.com", 465, "tls", "password", "jan.kowalski@gmail.com"),
        ("imap", "imap.gmail.com", 993, "tls", "password", "jan.kowalski@gmail.com"),
    ),
    (
        "ania@googlemail.com",
        "preset:gmail",
        "Gmail",
        ("smtp.gmail.com", 465, "tls", "password", "ania@googlemail.com"),
        ("imap", "imap.gmail.com", 993, "tls", "password", "ania@googlemail.com"),
    ),
    (
        "student@nyu.edu",
        "preset:google",
        "Google Workspace",
        ("smtp.gmail.com", 465, "tls", "password", "student@nyu.edu"),
        ("imap", "imap.gmail.com", 993, "tls", "password", "student@nyu.edu"),
    ),
    (
        "kasia@outlook.com",
        "preset:outlook",
        "Outlook.com",
        ("smtp-mail.outlook.com", 587, "starttls", "oauth2", "kasia@outlook.com"),
        ("imap", "outlook.office365.com", 993, "tls", "oauth2", "kasia@outlook.com"),
    ),
    (
        "old@hotmail.co.uk",
        "preset:outlook",
        "Outlook.com",
        ("smtp-mail.outlook.com", 587, "starttls", "oauth2", "old@hotmail.co.uk"),
        ("imap", "outlook.office365.com", 993, "tls", "oauth2", "old@hotmail.co.uk"),
    ),
    (
        "admin@contoso.onmicrosoft.com",
        "preset:microsoft365",
        "Microsoft 365",
        ("smtp.office365.com", 587, "starttls", "oauth2", "admin@contoso.onmicrosoft.com"),
        ("imap", "outlook.office365.com", 993, "tls", "oauth2", "admin@contoso.onmicrosoft.com"),
    ),
    (
        "bob@yahoo.co.uk",
        "preset:yahoo",
        "Yahoo Mail",
        ("smtp.mail.yahoo.com", 465, "tls", "password", "bob@yahoo.co.uk"),
        ("imap", "imap.mail.yahoo.com", 993, "tls", "password", "bob@yahoo.co.uk"),
    ),
    (
        "tim@icloud.com",
        "preset:icloud",
        "iCloud Mail",
        ("smtp.mail.me.com", 587, "starttls", "password", "tim@icloud.com"),
        ("imap", "imap.mail.me.com", 993, "tls", "password", "tim"),
    ),
    (
        "jan@onet.pl",
        "preset:onet",
        "Onet Poczta",
        ("smtp.poczta.onet.pl", 465, "tls", "password", "jan@onet.pl"),
        ("imap", "imap.poczta.onet.pl", 993, "tls", "password", "jan@onet.pl"),
    ),
    (
        "jan@op.pl",
        "preset:onet",
        "Onet Poczta",
        ("smtp.poczta.onet.pl", 465, "tls", "password", "jan@op.pl"),
        ("imap", "imap.poczta.onet.pl", 993, "tls", "password", "jan@op.pl"),
    ),
    (
        "jan@wp.pl",
        "preset:wp",
        "WP Poczta",
        ("smtp.wp.pl", 465, "tls", "password", "jan"),
        ("imap", "imap.wp.pl", 993, "tls", "password", "jan"),
    ),
    (
        "ola@o2.pl",
        "preset:o2",
        "o2 Poczta",
        ("poczta.o2.pl", 465, "tls", "password", "ola@o2.pl"),
        ("imap", "poczta.o2.pl", 993, "tls", "password", "ola@o2.pl"),
    ),
    (
        "ola@tlen.pl",
        "preset:o2",
        "o2 Poczta",
        ("poczta.o2.pl", 465, "tls", "password", "ola@tlen.pl"),
        ("imap", "poczta.o2.pl", 993, "tls", "password", "ola@tlen.pl"),
    ),
    (
        "piotr@interia.pl",
        "preset:interia",
        "Interia Poczta",
        ("poczta.interia.pl", 465, "tls", "password", "piotr@interia.pl"),
        ("imap", "poczta.interia.pl", 993, "tls", "password", "piotr@interia.pl"),
    ),
    (
        "piotr@poczta.fm",
        "preset:interia",
        "Interia Poczta",
        ("poczta.interia.pl", 465, "tls", "password", "piotr@poczta.fm"),
        ("imap", "poczta.interia.pl", 993, "tls", "password", "piotr@poczta.fm"),
    ),
    (
        "z@zoho.com",
        "preset:zoho",
        "Zoho Mail",
        ("smtp.zoho.com", 465, "tls", "password", "z@zoho.com"),
        ("imap", "imap.zoho.com", 993, "tls", "password", "z@zoho.com"),
    ),
    (
        "z@zohomail.eu",
        "preset:zoho-eu",
        "Zoho Mail (EU)",
        ("smtp.zoho.eu", 465, "tls", "password", "z@zohomail.eu"),
        ("imap", "imap.zoho.eu", 993, "tls", "password", "z@zohomail.eu"),
    ),
    (
        "z@zoho.in",
        "preset:zoho-in",
        "Zoho Mail (India)",
        ("smtp.zoho.in", 465, "tls", "password", "z@zoho.in"),
        ("imap", "imap.zoho.in", 993, "tls", "password", "z@zoho.in"),
    ),
    (
        "z@zoho.com.au",
        "preset:zoho-au",
        "Zoho Mail (Australia)",
        ("smtp.zoho.com.au", 465, "tls", "password", "z@zoho.com.au"),
        ("imap", "imap.zoho.com.au", 993, "tls", "password", "z@zoho.com.au"),
    ),
    (
        "z@zoho.jp",
        "preset:zoho-jp",
        "Zoho Mail (Japan)",
        ("smtp.zoho.jp", 465, "tls", "password", "z@zoho.jp"),
        ("imap", "imap.zoho.jp", 993, "tls", "password", "z@zoho.jp"),
    ),
    (
        "z@zohocloud.ca",
        "preset:zoho-ca",
        "Zoho Mail (Canada)",
        ("smtp.zohocloud.ca", 465, "tls", "password", "z@zohocloud.ca"),
        ("imap", "imap.zohocloud.ca", 993, "tls", "password", "z@zohocloud.ca"),
    ),
    (
        "hans@gmx.de",
        "preset:gmx-de",
        "GMX FreeMail",
        ("mail.gmx.net", 465, "tls", "password", "hans@gmx.de"),
        ("imap", "imap.gmx.net", 993, "tls", "password", "hans@gmx.de"),
    ),
    (
        "john@gmx.com",
        "preset:gmx",
        "GMX Mail",
        ("mail.gmx.com", 465, "tls", "password", "john@gmx.com"),
        ("imap", "imap.gmx.com", 993, "tls", "password", "john@gmx.com"),
    ),
]


@pytest.mark.parametrize(
    ("address", "source", "provider", "smtp", "incoming"), EXPECTED, ids=[e[0] for e in EXPECTED]
)
async def test_preset_provider_address_gets_its_settings(
    address: str,
    source: str,
    provider: str,
    smtp: tuple[object, ...],
    incoming: tuple[object, ...],
) -> None:
    proposal = await discover(EmailAddress.parse(address), OFFLINE)
    assert (proposal.source, proposal.provider) == (source, provider)
    out, inc = proposal.outgoing, proposal.incoming
    assert out is not None and inc is not None
    assert (out.host, out.port, out.security, out.auth, out.username) == smtp
    assert (inc.kind, inc.host, inc.port, inc.security, inc.auth, inc.username) == incoming
    assert proposal.advice  # every preset tells the user something they need to know


def test_every_preset_provider_of_the_mission_is_present() -> None:
    names = {p.id for p in bundled_presets()}
    mission = {"gmail", "outlook", "microsoft365", "yahoo", "icloud", "onet", "wp", "o2"}
    mission |= {"interia", "homepl", "nazwapl", "ovh", "gmx", "gmx-de"}
    mission |= {"zoho", "zoho-eu", "zoho-in", "zoho-au", "zoho-jp", "zoho-ca"}
    assert mission <= names


@pytest.mark.parametrize(
    ("preset_id", "count"),
    [("outlook", 102), ("yahoo", 18), ("onet", 17), ("gmx", 22), ("gmx-de", 11), ("o2", 4)],
)
def test_presets_list_every_domain_the_provider_serves(preset_id: str, count: int) -> None:
    """Counts from ISPDB (providers.md §1.1): 103 Outlook entries less the MX domain, …"""
    preset = next(p for p in bundled_presets() if p.id == preset_id)
    assert len(preset.domains) == count
    assert all(preset_for_domain(d) is preset for d in preset.domains)


@pytest.mark.parametrize(
    "domain", ["livemail.tw", "live.com.pt", "hotmail.com.vn", "outlook.co.th", "windowslive.com"]
)
def test_rare_outlook_domains_are_outlook(domain: str) -> None:
    preset = preset_for_domain(domain)
    assert preset is not None and preset.id == "outlook"


def test_a_lookalike_domain_is_no_preset() -> None:
    assert preset_for_domain("gmail.com.evil.test") is None
    assert preset_for_domain("notwp.pl") is None
    assert preset_for_mx("google.com.evil.test") is None
    assert preset_for_mx("evilgoogle.com") is None


@pytest.mark.parametrize(
    ("mx_host", "preset_id"),
    [
        ("aspmx.l.google.com", "google"),
        ("alt1.gmail-smtp-in.l.google.com", "google"),
        ("firma-pl.mail.protection.outlook.com", "microsoft365"),
        ("eur.olc.protection.outlook.com", "outlook"),
        ("mta5.am0.yahoodns.net", "yahoo"),
        ("mx1.mail.ovh.net", "ovh"),
        ("serwer123456.home.pl", "homepl"),
        ("serwer654321.nazwa.pl", "nazwapl"),
        ("mx.interia.pl", "interia"),
        ("mx.zoho.eu", "zoho-eu"),
        ("mx.zoho.com", "zoho"),
        ("mx01.mail.icloud.com", "icloud"),
    ],
)
def test_mx_hosts_identify_their_provider(mx_host: str, preset_id: str) -> None:
    preset = preset_for_mx(mx_host)
    assert preset is not None and preset.id == preset_id


def test_daily_limits_are_recorded_where_known() -> None:
    limits = {p.id: p.daily_send_limit for p in bundled_presets()}
    assert limits["gmail"] == 500
    assert limits["google"] == 2000
    assert limits["wp"] is None  # unknown stays unknown, not a made-up number


def test_no_preset_proposes_an_unencrypted_connection() -> None:
    for preset in bundled_presets():
        assert all(s.security.value != "none" for s in preset.servers), preset.id


_VALID_SERVERS = """
[[providers.x.incoming]]
protocol = "imap"
host = "imap.x.test"
port = 993
security = "tls"
[[providers.x.outgoing]]
host = "smtp.x.test"
port = 465
security = "tls"
"""


def test_a_broken_preset_file_names_the_entry_at_fault() -> None:
    with pytest.raises(PresetFileError, match=r"providers\.x"):
        parse_presets(_VALID_SERVERS.replace('"tls"', '"ssl"', 1))
    with pytest.raises(PresetFileError, match="imap or pop3"):
        parse_presets(_VALID_SERVERS.replace('"imap"', '"smtp"', 1))
    with pytest.raises(PresetFileError, match="at least one incoming"):
        parse_presets('[providers.x]\nname = "X"\n')


def test_a_domain_claimed_by_two_presets_is_refused() -> None:
    text = '[providers.x]\ndomains = ["x.test"]\n' + _VALID_SERVERS
    text += _VALID_SERVERS.replace("providers.x", "providers.y")
    text += '[providers.y]\ndomains = ["x.test"]\n'
    with pytest.raises(PresetFileError, match=r"x\.test is listed by both x and y"):
        parse_presets(text)
