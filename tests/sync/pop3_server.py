"""A small POP3 server (RFC 1939, 2449) for what Dovecot will not do: announce wrong sizes."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field


@dataclass
class Pop3Server:
    messages: Sequence[bytes]  # CRLF line ends
    size_error: int = 0  # added to every size LIST reports
    port: int = 0
    retrieved: list[int] = field(default_factory=list)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"+OK test POP3 ready\r\n")
        while line := await reader.readline():
            verb, _, argument = line.decode().strip().partition(" ")
            verb = verb.upper()
            if verb == "CAPA":
                writer.write(b"+OK\r\nUSER\r\nUIDL\r\nPIPELINING\r\n.\r\n")
            elif verb in ("USER", "PASS", "NOOP"):
                writer.write(b"+OK\r\n")
            elif verb == "UIDL":
                lines = [f"{n} uid-{n}" for n in range(1, len(self.messages) + 1)]
                writer.write(("+OK\r\n" + "".join(f"{x}\r\n" for x in lines) + ".\r\n").encode())
            elif verb == "LIST":
                sizes = [len(m) + self.size_error for m in self.messages]
                body = "".join(f"{n} {size}\r\n" for n, size in enumerate(sizes, 1))
                writer.write(f"+OK\r\n{body}.\r\n".encode())
            elif verb == "RETR":
                number = int(argument)
                self.retrieved.append(number)
                writer.write(b"+OK\r\n" + _stuffed(self.messages[number - 1]) + b".\r\n")
            elif verb == "QUIT":
                writer.write(b"+OK bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"-ERR unknown command\r\n")
            await writer.drain()
        writer.close()


def _stuffed(message: bytes) -> bytes:
    """RFC 1939 §3: a line starting with "." gets one more."""
    lines = message.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n" for ln in lines)


@contextlib.contextmanager
def running(server: Pop3Server) -> Iterator[Pop3Server]:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, asyncio.Server] = {}

    async def start() -> None:
        holder["server"] = await asyncio.start_server(server._session, "127.0.0.1", 0)
        server.port = holder["server"].sockets[0].getsockname()[1]
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop)
    started.wait(10)
    try:
        yield server
    finally:
        holder["server"].close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
