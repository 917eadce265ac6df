"""Sending messages over an open SMTP session: RFC 2920 pipelining, one reply per recipient."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable
from dataclasses import dataclass

from postroom.mail.connect import Connection
from postroom.mail.errors import MailConnectionError, MailError, MailTimeoutError
from postroom.mail.smtp_probe import SmtpSession, dot_stuff
from postroom.mail.smtp_wire import SmtpReply, SmtpReplyCode, command, read_reply

C = SmtpReplyCode
QUIT_SECONDS = 2.0
SERVICE_CLOSING = 421  # RFC 5321 §3.8: the server is about to close the channel
END_OF_DATA = b".\r\n"  # RFC 5321 §4.1.1.4, after the message's own last CRLF
# A CR not followed by LF, and a line that starts with a dot (RFC 5321 §4.5.2). Regular
# expressions with a literal first byte scan with memchr: far cheaper than bytes.count(b"\r\n").
_BARE_CR = re.compile(rb"\r(?!\n)")
_DOT_LINE = re.compile(rb"\n\.")
_XTEXT_AS_IS = re.compile(r"[!-*,-<>-~]*")  # "!".."~" without "+" and "="


@dataclass(frozen=True)
class Envelope:
    """One transaction: who from, to whom, the message (unstuffed), and its DSN envelope id."""

    sender: str
    recipients: tuple[str, ...]
    message: bytes
    envelope_id: str | None = None


@dataclass(frozen=True)
class TransactionResult:
    """Every reply of one transaction; `recipients` follows the envelope's order.

    A recipient's reply is None when it was never asked (MAIL FROM refused, no pipelining).
    `final` is the reply after the message text; None when the message was not sent.
    """

    mail: SmtpReply
    recipients: tuple[SmtpReply | None, ...]
    data: SmtpReply | None = None
    final: SmtpReply | None = None

    @property
    def accepted(self) -> bool:
        return self.final is not None and self.final.code // 100 == 2


class DeliveryInterruptedError(MailConnectionError):
    """The connection broke during a transaction.

    `after_data`: the whole message had been written and only the server's reply was
    missing, so it may have been accepted (RFC 5321 §6.1: a retry can then duplicate it).
    """

    code = "mail_delivery_interrupted"

    def __init__(self, message: str, *, after_data: bool) -> None:
        super().__init__(message)
        self.after_data = after_data


def wire_form(message: bytes) -> bytes:
    """The message as the DATA stream carries it: CRLF line ends, leading dots doubled.

    A message that already is (every MIME Postroom builds) goes out as it is, found with four
    C-speed scans instead of dot_stuff's copies: as many CRs as LFs and no CR alone means every
    line ends in CRLF. The sender does this for every message it sends.
    """
    if (
        message.endswith(b"\r\n")
        and not message.startswith(b".")
        and message.count(b"\r") == message.count(b"\n")
        and _BARE_CR.search(message) is None
        and _DOT_LINE.search(message) is None
    ):
        return message
    return dot_stuff(message)


def xtext(value: str) -> str:
    """RFC 3461 §4 xtext: "+" "=" and anything outside "!".."~" as +HH."""
    if _XTEXT_AS_IS.fullmatch(value):
        return value  # a Message-ID usually is: no per-character work for every message
    return "".join(
        ch if "!" <= ch <= "~" and ch not in "+=" else "".join(f"+{b:02X}" for b in ch.encode())
        for ch in value
    )


class SmtpSender:
    """Sends messages one after another over one logged-in session (connection reuse)."""

    def __init__(self, session: SmtpSession, *, timeout: float) -> None:
        self.conn: Connection = session.conn
        ext = session.extensions
        self.pipelining = "PIPELINING" in ext  # RFC 2920
        self.size_offered = "SIZE" in ext  # RFC 1870
        self.eight_bit = "8BITMIME" in ext  # RFC 6152
        self.smtputf8 = "SMTPUTF8" in ext  # RFC 6531
        self.dsn = "DSN" in ext  # RFC 3461
        self.timeout = timeout
        self.usable = True
        self._needs_reset = False
        self.sent = 0

    def _mail_line(self, envelope: Envelope) -> str:
        params = []
        if self.size_offered:
            params.append(f"SIZE={len(envelope.message)}")
        if self.eight_bit and not envelope.message.isascii():
            params.append("BODY=8BITMIME")
        addresses = (envelope.sender, *envelope.recipients)
        if self.smtputf8 and not all(a.isascii() for a in addresses):
            params.append("SMTPUTF8")
        if self.dsn and envelope.envelope_id:
            params.append(f"ENVID={xtext(envelope.envelope_id)}")
        return " ".join([f"MAIL FROM:<{envelope.sender}>", *params])

    async def send(
        self, envelope: Envelope, *, before_end: Awaitable[object] | None = None
    ) -> TransactionResult:
        """One transaction. Refusals come back in the result; a broken connection raises
        MailConnectionError (DeliveryInterruptedError once the envelope was sent).

        `before_end`: awaited after the message text and before the final ".", the moment
        the server takes the message (the outbox waits there until the previous message's
        result is committed, so that a crash can duplicate at most one message per
        connection). The envelope and the text go out meanwhile.
        """
        if not self.usable:
            raise MailConnectionError("This SMTP connection is no longer usable.")
        try:
            if self._needs_reset:
                await self._reset()
            async with asyncio.timeout(self.timeout):
                result = await self._envelope(envelope)
            if result.data is None or result.data.code != C.START_MAIL_INPUT:
                return self._unfinished(result)
            if not any(_accepted(reply) for reply in result.recipients):
                # RFC 2920 §3.1: a 354 although every RCPT failed; end the empty message.
                await self._empty_message()
                return self._unfinished(result)
            final = await self._message(envelope.message, before_end)
        except TimeoutError as exc:
            self.usable = False
            raise MailTimeoutError("The server did not answer in time.") from exc
        except MailError:
            self.usable = False
            raise
        self.sent += 1
        self.usable = final.code != SERVICE_CLOSING
        return TransactionResult(result.mail, result.recipients, result.data, final)

    async def _envelope(self, envelope: Envelope) -> TransactionResult:
        mail_line = self._mail_line(envelope)
        rcpt_lines = [f"RCPT TO:<{rcpt}>" for rcpt in envelope.recipients]
        if self.pipelining:
            # RFC 2920 §3.1: MAIL, every RCPT and DATA in one write; DATA ends the group.
            block = "\r\n".join([mail_line, *rcpt_lines, "DATA"]) + "\r\n"
            try:
                await self.conn.write(block.encode())
                mail = await read_reply(self.conn)
                replies = tuple([await read_reply(self.conn) for _ in rcpt_lines])
                data = await read_reply(self.conn)
            except MailConnectionError as exc:
                raise DeliveryInterruptedError(str(exc), after_data=False) from exc
            return TransactionResult(mail, replies, data)
        mail = await command(self.conn, mail_line)
        if not mail.positive:
            return TransactionResult(mail, (None,) * len(rcpt_lines))
        replies = tuple([await command(self.conn, line) for line in rcpt_lines])
        if not any(_accepted(reply) for reply in replies):
            return TransactionResult(mail, replies)
        return TransactionResult(mail, replies, await command(self.conn, "DATA"))

    async def _message(self, message: bytes, before_end: Awaitable[object] | None) -> SmtpReply:
        text = wire_form(message)
        if before_end is not None and not _done(before_end):
            async with asyncio.timeout(self.timeout):
                await self._write_data(text)
            await self._hold(before_end)
            text = b""
        async with asyncio.timeout(self.timeout):
            await self._write_data(text + END_OF_DATA)  # one write when nothing holds it
            try:
                return await read_reply(self.conn)
            except MailConnectionError as exc:
                raise DeliveryInterruptedError(str(exc), after_data=True) from exc

    async def _write_data(self, data: bytes) -> None:
        try:
            await self.conn.write(data)
        except MailConnectionError as exc:
            raise DeliveryInterruptedError(str(exc), after_data=False) from exc

    async def _hold(self, before_end: Awaitable[object]) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await before_end
        except TimeoutError as exc:
            # Without its final "." the server drops the message: it is sent again later.
            raise DeliveryInterruptedError(
                "The message was held before its end for too long and was not finished.",
                after_data=False,
            ) from exc

    async def _empty_message(self) -> None:
        async with asyncio.timeout(self.timeout):
            await self.conn.write(b".\r\n")
            await read_reply(self.conn)

    def _unfinished(self, result: TransactionResult) -> TransactionResult:
        # The server may still hold the transaction (MAIL accepted): RSET before the next one.
        self._needs_reset = True
        if result.mail.code == SERVICE_CLOSING or any(
            reply is not None and reply.code == SERVICE_CLOSING
            for reply in (*result.recipients, result.data)
        ):
            self.usable = False
        return result

    async def _reset(self) -> None:
        async with asyncio.timeout(self.timeout):
            reply = await command(self.conn, "RSET")
        if reply.code != C.OK:
            raise MailConnectionError(f"The server refused RSET: {reply}.")
        self._needs_reset = False

    async def close(self) -> None:
        """QUIT (RFC 5321 §4.1.1.10) if the server still answers quickly, then close."""
        if self.usable:
            with contextlib.suppress(MailError, TimeoutError, OSError):
                async with asyncio.timeout(QUIT_SECONDS):
                    await command(self.conn, "QUIT")
        self.usable = False
        await self.conn.close()


def _done(awaitable: Awaitable[object]) -> bool:
    return isinstance(awaitable, asyncio.Future) and awaitable.done()


def _accepted(reply: SmtpReply | None) -> bool:
    return reply is not None and reply.code in (C.OK, C.WILL_FORWARD)
