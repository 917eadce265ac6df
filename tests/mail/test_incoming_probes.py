"""The IMAP and POP3 probes against the real Dovecot, and the pieces they parse."""

from __future__ import annotations

import pytest

from postroom.enums import AuthMethod, Security
from postroom.mail.imap_probe import find_sent_folder, probe_imap
from postroom.mail.imap_wire import (
    ListedMailbox,
    decode_mailbox_name,
    encode_mailbox_name,
    parse_list,
)
from postroom.mail.pop3_probe import probe_pop3
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.report import Advice, StepName
from tests.fixtures.mailenv import MailEnv
from tests.mail.support import failed, login, mailbox_target, names


async def test_imap_over_tls(mailenv: MailEnv, local: ProbeOptions) -> None:
    report = await probe_imap(mailbox_target(mailenv, mailenv.imaps_port, Security.TLS), local)
    assert names(report) == [
        ("dns", "ok"),
        ("connect", "ok"),
        ("tls", "ok"),
        ("greeting", "ok"),
        ("capabilities", "ok"),
        ("auth", "ok"),
        ("list", "ok"),
        ("sent_folder", "ok"),
        ("select", "ok"),
    ]
    assert report.sent_folder == "Sent"
    assert report.step(StepName.SENT_FOLDER).detail == "Sent (marked \\Sent by the server)"
    assert "INBOX" in report.step(StepName.LIST).detail
    assert report.step(StepName.SELECT).detail.startswith("INBOX: ")


async def test_imap_with_starttls_and_cram_md5(mailenv: MailEnv, local: ProbeOptions) -> None:
    target = mailbox_target(
        mailenv, mailenv.imap_port, Security.STARTTLS, login(method=AuthMethod.CRAM_MD5)
    )
    report = await probe_imap(target, local)
    assert report.ok, names(report)
    assert [n for n, _ in names(report)][:7] == [
        "dns",
        "connect",
        "greeting",
        "capabilities",
        "starttls",
        "tls",
        "capabilities",
    ]
    assert report.step(StepName.AUTH).detail.startswith("CRAM-MD5 as alice@example.test: OK")


async def test_imap_wrong_password(mailenv: MailEnv, local: ProbeOptions) -> None:
    target = mailbox_target(mailenv, mailenv.imaps_port, Security.TLS, login("wrong"))
    step = failed(await probe_imap(target, local))
    assert step.name is StepName.AUTH
    assert step.server_reply == "NO [AUTHENTICATIONFAILED] Authentication failed."
    assert step.advice is Advice.WRONG_PASSWORD


async def test_pop3_over_tls(mailenv: MailEnv, local: ProbeOptions) -> None:
    report = await probe_pop3(mailbox_target(mailenv, mailenv.pop3s_port, Security.TLS), local)
    assert names(report) == [
        ("dns", "ok"),
        ("connect", "ok"),
        ("tls", "ok"),
        ("greeting", "ok"),
        ("capabilities", "ok"),
        ("auth", "ok"),
        ("stat", "ok"),
    ]
    assert report.step(StepName.STAT).detail.endswith(tuple("0123456789"))


async def test_pop3_with_stls(mailenv: MailEnv, local: ProbeOptions) -> None:
    report = await probe_pop3(mailbox_target(mailenv, mailenv.pop3_port, Security.STARTTLS), local)
    assert report.ok, names(report)
    assert report.step(StepName.STARTTLS).detail.startswith("+OK")
    assert "STLS" not in report.step(StepName.CAPABILITIES).detail  # asked again after TLS


async def test_pop3_wrong_password(mailenv: MailEnv, local: ProbeOptions) -> None:
    target = mailbox_target(mailenv, mailenv.pop3s_port, Security.TLS, login("wrong"))
    step = failed(await probe_pop3(target, local))
    assert step.name is StepName.AUTH
    assert step.server_reply == "-ERR [AUTH] Authentication failed."
    assert step.advice is Advice.WRONG_PASSWORD


def _mailbox(name: str, *flags: str) -> ListedMailbox:
    return ListedMailbox(frozenset(flags), "/", name)


@pytest.mark.parametrize(
    ("listed", "expected"),
    [
        ([_mailbox("INBOX"), _mailbox("Gesendet", "\\SENT")], ("Gesendet", "marked")),
        ([_mailbox("INBOX"), _mailbox("Wysłane")], ("Wysłane", "name")),
        ([_mailbox("INBOX.Sent"), _mailbox("Sent Items")], ("Sent Items", "name")),
        ([_mailbox("INBOX"), _mailbox("sent", "\\NOSELECT")], None),
        ([_mailbox("INBOX"), _mailbox("Archive")], None),
    ],
)
def test_sent_folder_by_special_use_then_by_name(
    listed: list[ListedMailbox], expected: tuple[str, str] | None
) -> None:
    found = find_sent_folder(listed)
    if expected is None:
        assert found is None
    else:
        assert found is not None and found[0] == expected[0] and expected[1] in found[1]


def test_list_lines_with_modified_utf7_and_literals() -> None:
    assert parse_list(b'* LIST (\\HasNoChildren \\Sent) "/" "Wys&AUI-ane"') == _mailbox(
        "Wysłane", "\\HASNOCHILDREN", "\\SENT"
    )
    assert parse_list(b'* LIST () "." "a \\"b\\""') == ListedMailbox(frozenset(), ".", 'a "b"')
    assert parse_list(b"* LIST () NIL INBOX") == ListedMailbox(frozenset(), "", "INBOX")
    assert parse_list(b"* OK done") is None
    for text in ("Wysłane", "Elementy wysłane", "A&B", "日本語", "plain"):
        assert decode_mailbox_name(encode_mailbox_name(text)) == text
    assert encode_mailbox_name("Wysłane") == "Wys&AUI-ane"
