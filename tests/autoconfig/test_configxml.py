"""config-v1.1.xml parsing: placeholders, preferences, and hostile documents refused safely."""

from __future__ import annotations

import time

from postroom.autoconfig.configxml import parse_config_xml
from postroom.autoconfig.model import EmailAddress, ServerKind
from postroom.enums import AuthMethod, Security

EMAIL = EmailAddress.parse("anna.nowak@firma.test")

CONFIG = b"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="firma.test">
    <domain>firma.test</domain>
    <displayName>Firma Hosting</displayName>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-encrypted</authentication>
    </incomingServer>
    <incomingServer type="pop3">
      <hostname>pop.firma.test</hostname>
      <port>995</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.firma.test</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
  <enable visiturl="https://firma.test/settings">
    <instruction>Turn on IMAP in the panel first.</instruction>
    <instruction lang="de">IMAP zuerst einschalten.</instruction>
  </enable>
</clientConfig>
"""


def test_placeholders_are_filled_and_first_servers_proposed() -> None:
    parsed = parse_config_xml(CONFIG, EMAIL)
    assert parsed is not None
    name, servers, instructions = parsed
    assert name == "Firma Hosting"
    imap, pop3, smtp = servers
    assert (imap.kind, imap.host, imap.port, imap.security) == (
        ServerKind.IMAP,
        "imap.firma.test",
        993,
        Security.TLS,
    )
    assert imap.username == "anna.nowak"
    assert imap.auth is AuthMethod.CRAM_MD5
    assert pop3.username == "anna.nowak@firma.test"
    assert (smtp.host, smtp.port, smtp.security) == ("smtp.firma.test", 587, Security.STARTTLS)
    assert instructions == ("Turn on IMAP in the panel first.",)


def _one_server(inner: str) -> bytes:
    return (
        "<clientConfig><emailProvider id='x'>"
        f"<outgoingServer type='smtp'>{inner}</outgoingServer>"
        "</emailProvider></clientConfig>"
    ).encode()


def test_unsupported_authentication_falls_to_the_next_one() -> None:
    body = _one_server(
        "<hostname>smtp.firma.test</hostname><port>465</port><socketType>SSL</socketType>"
        "<authentication>NTLM</authentication><authentication>password-cleartext</authentication>"
    )
    parsed = parse_config_xml(body, EMAIL)
    assert parsed is not None
    assert parsed[1][0].auth is AuthMethod.PASSWORD


def test_oauth2_is_taken_only_for_providers_postroom_can_sign_in_to() -> None:
    def auth_for(host: str) -> AuthMethod:
        body = _one_server(
            f"<hostname>{host}</hostname><port>465</port><socketType>SSL</socketType>"
            "<authentication>OAuth2</authentication>"
            "<authentication>password-cleartext</authentication>"
        )
        parsed = parse_config_xml(body, EMAIL)
        assert parsed is not None
        return parsed[1][0].auth

    assert auth_for("smtp.gmail.com") is AuthMethod.OAUTH2
    assert auth_for("smtp.firma.test") is AuthMethod.PASSWORD


def test_an_unencrypted_server_comes_after_encrypted_ones() -> None:
    body = (
        b"<clientConfig><emailProvider id='x'>"
        b"<outgoingServer type='smtp'><hostname>smtp.firma.test</hostname><port>25</port>"
        b"<socketType>plain</socketType></outgoingServer>"
        b"<outgoingServer type='smtp'><hostname>smtp.firma.test</hostname><port>465</port>"
        b"<socketType>SSL</socketType></outgoingServer>"
        b"</emailProvider></clientConfig>"
    )
    parsed = parse_config_xml(body, EMAIL)
    assert parsed is not None
    assert [s.port for s in parsed[1]] == [465, 25]


def test_servers_with_bad_values_are_dropped() -> None:
    for inner in (
        "<hostname>smtp firma</hostname><port>465</port><socketType>SSL</socketType>",
        "<hostname>smtp.firma.test</hostname><port>70000</port><socketType>SSL</socketType>",
        "<hostname>smtp.firma.test</hostname><port>465</port><socketType>TLS9</socketType>",
        "<hostname>smtp.firma.test</hostname><port>465</port><socketType>SSL</socketType>"
        "<username>a&#13;&#10;RCPT TO:x</username>",
    ):
        parsed = parse_config_xml(_one_server(inner), EMAIL)
        assert parsed is not None
        assert parsed[1] == [], inner


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<clientConfig><emailProvider id="x"><displayName>&lol9;</displayName>
<outgoingServer type="smtp"><hostname>smtp.firma.test</hostname><port>465</port>
<socketType>SSL</socketType></outgoingServer></emailProvider></clientConfig>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE c [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<clientConfig><emailProvider id="x"><displayName>&secret;</displayName>
<outgoingServer type="smtp"><hostname>smtp.firma.test</hostname><port>465</port>
<socketType>SSL</socketType></outgoingServer></emailProvider></clientConfig>
"""


def test_billion_laughs_is_refused_without_expanding_anything() -> None:
    started = time.monotonic()
    assert parse_config_xml(BILLION_LAUGHS, EMAIL) is None
    assert time.monotonic() - started < 1.0


def test_external_entities_are_refused() -> None:
    assert parse_config_xml(EXTERNAL_ENTITY, EMAIL) is None


def test_documents_that_are_not_config_files_are_ignored() -> None:
    assert parse_config_xml(b"<html><body>Not found</body></html>", EMAIL) is None
    assert parse_config_xml(b"<clientConfig><emailProvider", EMAIL) is None
    assert parse_config_xml(b"\xff\xfe garbage", EMAIL) is None
