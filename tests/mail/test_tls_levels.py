"""Cipher levels (A2): what each context sets, and what each reaches (docs/tls.md)."""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from postroom.enums import AuthMethod, CipherLevel, Security
from postroom.mail.connect import Endpoint
from postroom.mail.imap_probe import MailboxTarget, probe_imap
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.report import Advice, StepName, StepStatus
from postroom.mail.smtp_probe import probe_smtp
from postroom.mail.tls import make_ssl_context
from tests.fixtures.mailenv import MailEnv
from tests.mail.support import (
    TestCertificates,
    login,
    mailbox_target,
    options,
    scripted_server,
    server_context,
    smtp_target,
)

# Forward-secret AEAD: every TLS 1.3 suite, and ECDHE/DHE with GCM or ChaCha20 in TLS 1.2.
_STRONG_TLS12 = ("ECDHE-", "DHE-")


def _ciphers(context: ssl.SSLContext) -> list[str]:
    return [c["name"] for c in context.get_ciphers()]


def test_what_each_level_sets() -> None:
    default, strong, medium, weak = (make_ssl_context(level) for level in CipherLevel)
    for context in (default, strong, medium, weak):
        assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert (default.minimum_version, default.security_level) == (ssl.TLSVersion.TLSv1_2, 2)
    assert (strong.minimum_version, strong.security_level) == (ssl.TLSVersion.TLSv1_2, 2)
    assert (medium.minimum_version, medium.security_level) == (ssl.TLSVersion.TLSv1_2, 1)
    assert weak.minimum_version is ssl.TLSVersion.MINIMUM_SUPPORTED and weak.security_level == 0
    tls12_strong = [c for c in _ciphers(strong) if not c.startswith("TLS_")]
    assert tls12_strong and all(c.startswith(_STRONG_TLS12) for c in tls12_strong)
    assert all("GCM" in c or "CHACHA20" in c for c in tls12_strong)
    assert "AES128-SHA" in _ciphers(medium) and "AES128-SHA" not in _ciphers(default)
    assert not [c for c in _ciphers(medium) + _ciphers(weak) if "PSK" in c or "SRP" in c]


@pytest.mark.parametrize("level", list(CipherLevel))
async def test_every_level_reaches_dovecot_and_postfix(
    mailenv: MailEnv, local: ProbeOptions, level: CipherLevel
) -> None:
    imap = await probe_imap(
        mailbox_target(mailenv, mailenv.imaps_port, Security.TLS, level=level), local
    )
    smtp = await probe_smtp(
        smtp_target(mailenv.host, mailenv.smtps_port, Security.TLS, level=level), local
    )
    for report in (imap, smtp):
        assert report.ok, report.failed_step
        assert report.tls_version in ("TLSv1.2", "TLSv1.3")  # Dovecot: ssl_min_protocol TLSv1.2
    if level is CipherLevel.STRONG:
        assert smtp.tls_cipher is not None
        assert smtp.tls_cipher.startswith(("TLS_", *_STRONG_TLS12))


def _target(port: int, level: CipherLevel) -> MailboxTarget:
    endpoint = Endpoint("127.0.0.1", port, Security.TLS, level)
    return MailboxTarget(endpoint, login(None, AuthMethod.NONE), "a@b.test")


@contextmanager
def _old_server(certificates: TestCertificates, kind: str) -> Iterator[ssl.SSLContext]:
    context = server_context(certificates.cert_file, certificates.key_file)
    with warnings.catch_warnings():  # the old protocol versions are deprecated, on purpose here
        warnings.simplefilter("ignore", DeprecationWarning)
        if kind == "tls1.0":
            context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1
            context.set_ciphers("ALL:@SECLEVEL=0")
        else:  # RSA key exchange with CBC and SHA-1: no forward secrecy, no AEAD
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers("AES128-SHA:@SECLEVEL=1")
    yield context


@pytest.mark.parametrize(
    ("kind", "works_from", "next_level"),
    [
        ("tls1.0", CipherLevel.WEAK, {"default": "medium", "medium": "weak"}),
        ("rsa-cbc", CipherLevel.MEDIUM, {"strong": "default", "default": "medium"}),
    ],
)
async def test_old_servers_need_a_lower_level(
    certificates: TestCertificates, kind: str, works_from: CipherLevel, next_level: dict[str, str]
) -> None:
    order = [CipherLevel.STRONG, CipherLevel.DEFAULT, CipherLevel.MEDIUM, CipherLevel.WEAK]
    with _old_server(certificates, kind) as tls:
        async with scripted_server(b"* OK old server\r\n", [], tls) as server:
            for level in order:
                target = _target(server.port, level)
                report = await probe_imap(target, options(certificates.ca_file, timeout=3))
                step = report.step(StepName.TLS)
                should_work = order.index(level) >= order.index(works_from)
                assert (step.status is StepStatus.OK) == should_work, (level, step)
                if not should_work:
                    assert step.advice is Advice.LOWER_CIPHER_LEVEL
                    if level.value in next_level:
                        assert f"cipher level {next_level[level.value]}" in (step.advice_text or "")
    if kind == "tls1.0":
        assert step.detail.startswith("TLSv1, ")  # the weak level's handshake
