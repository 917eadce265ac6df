"""The outbox's SMTP sender: the DATA stream's form, and the final "." held until released."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from postroom.enums import AuthMethod, Security
from postroom.mail.connect import Endpoint, NetworkOptions
from postroom.mail.credentials import Credentials
from postroom.mail.netguard import NetworkPolicy, parse_networks
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.sessions import open_smtp
from postroom.mail.smtp_client import Envelope, SmtpSender, wire_form
from postroom.mail.smtp_probe import SmtpTarget, dot_stuff

MESSAGE = b"Subject: Faktura\r\n\r\nLine one.\r\n.starts with a dot\r\nLast line.\r\n"


@given(st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"\xc5\x82"]), max_size=12))
def test_wire_form_is_dot_stuffing_with_a_shortcut(parts: list[bytes]) -> None:
    message = b"".join(parts)
    assert wire_form(message) == dot_stuff(message)


def test_a_message_that_needs_nothing_goes_as_it_is() -> None:
    clean = b"Subject: x\r\n\r\nHello.\r\n"
    assert wire_form(clean) is clean


@dataclass
class _Recorder:
    """An SMTP server that keeps every byte of the message text as it arrives."""

    port: int = 0
    text: bytearray = field(default_factory=bytearray)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    accepted: int = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 recorder.test ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250-recorder.test\r\n250 PIPELINING\r\n")
            elif verb == b"DATA":
                writer.write(b"354 go on\r\n")
                await writer.drain()
                await self._text(reader)
                self.accepted += 1
                writer.write(b"250 2.0.0 Ok: queued\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                break
            else:
                writer.write(b"250 Ok\r\n")
            await writer.drain()
        writer.close()

    async def _text(self, reader: asyncio.StreamReader) -> None:
        while not self.text.endswith(b"\r\n.\r\n"):
            chunk = await reader.read(65536)
            if not chunk:
                return
            self.text += chunk
            self.arrived.set()


@contextlib.asynccontextmanager
async def _recorder() -> AsyncIterator[_Recorder]:
    recorder = _Recorder()
    server = await asyncio.start_server(recorder.serve, "127.0.0.1", 0)
    recorder.port = server.sockets[0].getsockname()[1]
    async with server:
        yield recorder


async def _sender(port: int) -> SmtpSender:
    target = SmtpTarget(
        Endpoint("127.0.0.1", port, Security.NONE), Credentials(AuthMethod.NONE), "a@alfa.test"
    )
    options = ProbeOptions(NetworkOptions(NetworkPolicy(parse_networks("127.0.0.0/8"))))
    return SmtpSender(await open_smtp(target, options), timeout=10)


async def test_the_final_dot_waits_until_released() -> None:
    async with _recorder() as server:
        sender = await _sender(server.port)
        release: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        envelope = Envelope("a@alfa.test", ("b@beta.test",), MESSAGE)
        sending = asyncio.create_task(sender.send(envelope, before_end=release))
        while not server.text.endswith((b"Last line.\r\n", b"\r\n.\r\n")):  # all the text
            server.arrived.clear()
            await server.arrived.wait()
        assert server.text == dot_stuff(MESSAGE) and server.accepted == 0
        assert not sending.done()
        release.set_result(None)
        result = await sending
        assert result.accepted and server.accepted == 1
        assert server.text.endswith(b"\r\n.\r\n")
        # Released before the text goes out: text and "." leave in one write.
        server.text.clear()
        assert (await sender.send(envelope, before_end=release)).accepted
        await sender.close()
    assert server.accepted == 2
