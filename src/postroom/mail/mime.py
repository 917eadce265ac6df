"""Outgoing messages built to RFC 5322 and MIME: headers, bodies, attachments; no sockets."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime

from postroom.addresses import ascii_address
from postroom.enums import RecipientKind
from postroom.errors import FieldProblem, ValidationError
from postroom.mail import mime_checks as checks
from postroom.mail import mime_headers
from postroom.mail.body import compose_bodies
from postroom.mail.mime_checks import MimeLimits

# Headers are always RFC 2047 encoded words, never raw UTF-8 (RFC 6532): that works with
# every server, with or without SMTPUTF8, and bodies are 7-bit (quoted-printable, base64),
# so no server needs 8BITMIME either. CRLF line ends, folding at 78 (RFC 5322 §2.1.1).
_BUILD = policy.SMTP
# Headers folded by mime_headers are written as they are, never folded again.
_WRITE = policy.SMTP.clone(refold_source="none")
_FOLD_AT = mime_headers.FOLD_AT
# White space around a header's text is folding, not content (RFC 5322 §3.2.2): not kept.
_WSP = " \t"
_ATTACHED_MAIL = "message/"
_MESSAGE_IDS = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


@dataclass(frozen=True)
class Mailbox:
    address: str
    name: str = ""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class MessageDraft:
    """Everything a message says; `header_html` and `signature_html` come from the account."""

    sender: Mailbox
    to: tuple[Mailbox, ...] = ()
    cc: tuple[Mailbox, ...] = ()
    bcc: tuple[Mailbox, ...] = ()  # envelope only: never written into a header
    reply_to: Mailbox | None = None
    subject: str = ""
    text: str | None = None
    html: str | None = None
    header_html: str = ""
    signature_html: str = ""
    attachments: tuple[Attachment, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    envelope_from: str | None = None  # the SMTP MAIL FROM; the sender's address by default


@dataclass(frozen=True)
class EnvelopeRecipient:
    address: str
    kind: RecipientKind


@dataclass(frozen=True)
class BuiltMessage:
    raw: bytes
    message_id: str  # without the angle brackets
    envelope_from: str
    recipients: tuple[EnvelopeRecipient, ...]  # each address once, the first kind it had


def _recipient_lists(draft: MessageDraft) -> Iterator[tuple[str, RecipientKind, list[Mailbox]]]:
    yield "to", RecipientKind.TO, list(draft.to)
    yield "cc", RecipientKind.CC, list(draft.cc)
    yield "bcc", RecipientKind.BCC, list(draft.bcc)


def _recipient_problems(draft: MessageDraft, limits: MimeLimits) -> Iterator[FieldProblem]:
    seen = 0
    for name, _kind, mailboxes in _recipient_lists(draft):
        for index, mailbox in enumerate(mailboxes):
            field = f"{name}[{index}]"
            yield from checks.address_field(field, mailbox.address, mailbox.name)
            seen += 1
            if seen == limits.max_recipients + 1:
                yield FieldProblem(
                    field,
                    f"A message may have at most {limits.max_recipients} recipients "
                    "(to, cc and bcc together); send it in several messages.",
                    "too_many_recipients",
                )
    if seen == 0:
        yield FieldProblem("to", "Give at least one recipient (to, cc or bcc).", "required")


def _attachment_problems(draft: MessageDraft, limits: MimeLimits) -> Iterator[FieldProblem]:
    for index, item in enumerate(draft.attachments):
        yield from checks.attachment_field(
            f"attachments[{index}]", item.filename, item.content_type, len(item.data), limits
        )
    # base64 makes 4 bytes of 3: refuse early what cannot fit once encoded.
    encoded = sum(len(item.data) for item in draft.attachments) * 4 // 3
    if encoded > limits.max_message_bytes:
        yield _too_large(encoded, limits)


def _too_large(size: int, limits: MimeLimits) -> FieldProblem:
    return FieldProblem(
        "attachments",
        f"The message would be {checks.megabytes(size)} once encoded; at most "
        f"{checks.megabytes(limits.max_message_bytes)} may be sent. Send fewer attachments.",
        "message_too_large",
    )


def check_draft(draft: MessageDraft, limits: MimeLimits) -> list[FieldProblem]:
    """Every problem of the draft, each naming its field (`to[2]`, `subject`, …)."""
    problems = list(checks.address_field("from", draft.sender.address, draft.sender.name))
    if draft.envelope_from is not None:
        problems += checks.address_field("from", draft.envelope_from, "")
    problems += _recipient_problems(draft, limits)
    if draft.reply_to is not None:
        problems += checks.address_field("reply_to", draft.reply_to.address, draft.reply_to.name)
    problems += checks.text_field("subject", draft.subject, checks.MAX_SUBJECT_CHARS)
    if draft.in_reply_to is not None:
        problems += checks.message_id_field("in_reply_to", draft.in_reply_to)
    for index, reference in enumerate(draft.references[: checks.MAX_REFERENCES]):
        problems += checks.message_id_field(f"references[{index}]", reference)
    if len(draft.references) > checks.MAX_REFERENCES:
        problems.append(
            FieldProblem(
                "references",
                f"At most {checks.MAX_REFERENCES} Message-IDs may be referenced.",
                "too_many",
            )
        )
    problems += _attachment_problems(draft, limits)
    return problems


def _mailboxes(header_name: str, mailboxes: tuple[Mailbox, ...]) -> str:
    pairs = [(m.name.strip(_WSP), ascii_address(m.address)) for m in mailboxes]
    return mime_headers.address_list(header_name, pairs)


def new_message_id(domain: str) -> str:
    """A Message-ID on `domain` (RFC 5322 §3.6.4): 128 random bits, unique without a registry."""
    return f"{secrets.token_hex(16)}@{domain}"


def _message_id_domain(draft: MessageDraft, configured: str | None) -> str:
    return configured or ascii_address(draft.sender.address).rpartition("@")[2]


def _headers(draft: MessageDraft, message: EmailMessage, message_id: str, now: datetime) -> None:
    # Addresses and Message-ID lists are folded by mime_headers (see there why); set_raw keeps
    # them as written, in this order.
    message.set_raw("From", _mailboxes("From", (draft.sender,)))
    if draft.to:
        message.set_raw("To", _mailboxes("To", draft.to))
    if draft.cc:
        message.set_raw("Cc", _mailboxes("Cc", draft.cc))
    if draft.reply_to is not None:
        message.set_raw("Reply-To", _mailboxes("Reply-To", (draft.reply_to,)))
    if subject := draft.subject.strip(_WSP):
        message.set_raw("Subject", mime_headers.unstructured("Subject", subject))
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = f"<{message_id}>"
    if draft.in_reply_to is not None:
        parent = [checks.bare_message_id(draft.in_reply_to)]
        message.set_raw("In-Reply-To", mime_headers.message_id_list("In-Reply-To", parent))
    references = [checks.bare_message_id(r) for r in draft.references]
    if references:
        message.set_raw("References", mime_headers.message_id_list("References", references))


def _encoding_of(text: str) -> str:
    """7bit when it already is (ASCII, short lines); else quoted-printable, readable and safe."""
    if text.isascii() and all(len(line) <= _FOLD_AT for line in text.split("\n")):
        return "7bit"
    return "quoted-printable"


def _attachment_part(item: Attachment) -> EmailMessage:
    content_type = item.content_type.lower()
    if content_type.startswith(_ATTACHED_MAIL):
        # RFC 2046 §5.2.1: message/* may not be base64-encoded; a file is sent as a file.
        content_type = "application/octet-stream"
    maintype, _, subtype = content_type.partition("/")
    part = EmailMessage(policy=_BUILD)
    # The file name as RFC 2231 parameters (filename*=utf-8''Faktura_%C5%81%C3%B3d%C5%BA.pdf),
    # in Content-Disposition and as Content-Type's name for clients that look only there.
    # Readers strip white space around a file name, so it is not sent.
    filename = item.filename.strip()
    part.set_content(item.data, maintype, subtype, disposition="attachment", filename=filename)
    part.set_param("name", filename)
    return part


def _body(draft: MessageDraft, message: EmailMessage) -> None:
    bodies = compose_bodies(
        text=draft.text,
        html=draft.html,
        header_html=draft.header_html,
        signature_html=draft.signature_html,
    )
    message.set_content(bodies.text, cte=_encoding_of(bodies.text))
    if bodies.html is not None:
        message.add_alternative(bodies.html, subtype="html", cte=_encoding_of(bodies.html))
    if draft.attachments:
        message.make_mixed()
        for item in draft.attachments:
            message.attach(_attachment_part(item))
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]  # only the top level carries it (RFC 2045 §4)


def _envelope(draft: MessageDraft) -> tuple[EnvelopeRecipient, ...]:
    seen: dict[str, EnvelopeRecipient] = {}
    for _name, kind, mailboxes in _recipient_lists(draft):
        for mailbox in mailboxes:
            address = ascii_address(mailbox.address)
            seen.setdefault(address.lower(), EnvelopeRecipient(address, kind))
    return tuple(seen.values())


def build_message(
    draft: MessageDraft,
    *,
    limits: MimeLimits,
    message_id_domain: str | None = None,
    now: datetime | None = None,
) -> BuiltMessage:
    """The message as it goes over SMTP, or a ValidationError naming every field at fault."""
    problems = check_draft(draft, limits)
    if problems:
        raise ValidationError(
            "The message cannot be sent as given: " + " ".join(p.message for p in problems),
            problems,
        )
    message_id = new_message_id(_message_id_domain(draft, message_id_domain))
    message = EmailMessage(policy=_BUILD)
    _headers(draft, message, message_id, now or datetime.now(UTC))
    _body(draft, message)
    raw = message.as_bytes(policy=_WRITE)
    if len(raw) > limits.max_message_bytes:
        problem = _too_large(len(raw), limits)
        raise ValidationError(problem.message, [problem])
    return BuiltMessage(
        raw=raw,
        message_id=message_id,
        envelope_from=ascii_address(draft.envelope_from or draft.sender.address),
        recipients=_envelope(draft),
    )


def thread_references(head: bytes) -> tuple[str, ...]:
    """What a reply to the message whose header section is `head` puts in References:
    its References (or else its In-Reply-To) and then its own Message-ID (RFC 5322 §3.6.4)."""
    parsed = BytesHeaderParser(policy=policy.default).parsebytes(head)
    earlier = _ids(str(parsed.get("References") or "")) or _ids(
        str(parsed.get("In-Reply-To") or "")
    )
    return (*earlier, *_ids(str(parsed.get("Message-ID") or ""))[:1])


def _ids(value: str) -> list[str]:
    return _MESSAGE_IDS.findall(value)
