"""Reaching a mail server: DNS through the network policy, TCP, TLS named for the user's host."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from postroom.enums import CipherLevel, Security
from postroom.mail.errors import (
    CertificateError,
    CertificateInfo,
    ConnectionClosedError,
    MailConnectionError,
    ProtocolError,
    TlsError,
)
from postroom.mail.netguard import NetworkPolicy
from postroom.mail.tls import make_ssl_context

# Longest line accepted from a server. SMTP allows 512 octets per reply line (RFC 5321
# §4.5.3.1.5); IMAP has no limit, but a LIST line is far below this.
MAX_LINE = 64 * 1024
# When a host has several addresses, an address that does not answer gets this long before
# the next is tried, so one dead address cannot use up the whole test.
PER_ADDRESS_SECONDS = 5.0
CLOSE_SECONDS = 0.5


@dataclass(frozen=True)
class Endpoint:
    """Where a protocol adapter connects: the user's host name, port and security settings."""

    host: str
    port: int
    security: Security
    cipher_level: CipherLevel = CipherLevel.DEFAULT


@dataclass(frozen=True)
class NetworkOptions:
    """Which addresses may be reached, and which CAs are trusted besides the system's."""

    policy: NetworkPolicy = field(default_factory=NetworkPolicy)
    extra_ca_file: Path | None = None

    def ssl_context(self, level: CipherLevel) -> ssl.SSLContext:
        return make_ssl_context(level, self.extra_ca_file)


class Connection:
    """A byte stream to one server, plain or TLS, read line by line with CRLF kept."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self._reader = reader
        self._writer = writer
        self.host = host
        self.address: str = str(writer.get_extra_info("peername", ("", 0))[0])
        self.local_address: str = str(writer.get_extra_info("sockname", ("", 0))[0])

    @property
    def tls(self) -> ssl.SSLObject | None:
        found = self._writer.get_extra_info("ssl_object")
        return found if isinstance(found, ssl.SSLObject) else None

    def tls_summary(self) -> tuple[str, str]:
        """(protocol, cipher) negotiated, e.g. ("TLSv1.3", "TLS_AES_256_GCM_SHA384")."""
        tls = self.tls
        cipher = tls.cipher() if tls is not None else None
        if tls is None or cipher is None:
            return "", ""
        return str(tls.version()), cipher[0]

    async def read_line(self, max_bytes: int = MAX_LINE) -> bytes:
        """One line, CRLF kept. `max_bytes` above MAX_LINE lets a protocol take longer lines
        (an IMAP VANISHED or SEARCH answer for a large mailbox lists UIDs on one line), read
        in pieces of the stream's buffer size."""
        pieces: list[bytes] = []
        taken = 0
        while True:
            try:
                line = await self._reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                raise ConnectionClosedError("The server closed the connection.") from exc
            except asyncio.LimitOverrunError as exc:
                taken += exc.consumed
                if taken > max_bytes:
                    raise ProtocolError(
                        f"The server sent a line longer than {max_bytes} bytes."
                    ) from exc
                pieces.append(await self.read_exactly(exc.consumed))
                continue
            except (ConnectionError, ssl.SSLError) as exc:
                raise MailConnectionError(f"The connection broke: {exc}.") from exc
            if taken + len(line) > max_bytes:
                raise ProtocolError(f"The server sent a line longer than {max_bytes} bytes.")
            return b"".join((*pieces, line)) if pieces else line

    async def read_exactly(self, size: int) -> bytes:
        try:
            return await self._reader.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            raise ConnectionClosedError("The server closed the connection.") from exc

    async def write(self, data: bytes) -> None:
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, ssl.SSLError) as exc:
            raise MailConnectionError(f"The connection broke: {exc}.") from exc

    async def start_tls(self, context: ssl.SSLContext) -> None:
        """The TLS handshake; the certificate must name the host the user typed (RFC 6125)."""
        try:
            await self._writer.start_tls(context, server_hostname=self.host)
        except ssl.SSLCertVerificationError as exc:
            raise CertificateError(
                f"The server's certificate is not trusted: {exc.verify_message.rstrip('.')}.",
                verify_code=exc.verify_code,
                certificate=None,
            ) from exc
        except ssl.SSLError as exc:
            reason = exc.reason or ""
            raise TlsError(f"The TLS handshake failed: {reason or exc}.", reason=reason) from exc
        except (ConnectionError, OSError) as exc:
            raise TlsError(
                "The server closed the connection during the TLS handshake.", reason="CLOSED"
            ) from exc

    def peer_certificate(self) -> bytes | None:
        tls = self.tls
        return tls.getpeercert(binary_form=True) if tls is not None else None

    async def close(self) -> None:
        """Close politely, but never wait long: a broken peer must not hold up the report."""
        self._writer.close()
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await self._writer.wait_closed()
        except (TimeoutError, OSError, ssl.SSLError):
            self._writer.transport.abort()


async def resolve(policy: NetworkPolicy, host: str, port: int) -> list[str]:
    """The addresses of `host` that the policy permits, in DNS order (see netguard)."""
    return await policy.resolve(host, port)


async def connect(addresses: Sequence[str], port: int, host: str) -> Connection:
    """TCP to the first address that answers; `host` stays the name TLS will verify."""
    error: Exception = MailConnectionError(f"{host} has no address to connect to.")
    for index, address in enumerate(addresses):
        last = index == len(addresses) - 1
        try:
            async with asyncio.timeout(None if last else PER_ADDRESS_SECONDS):
                reader, writer = await asyncio.open_connection(address, port, limit=MAX_LINE)
        except TimeoutError as exc:
            error = exc
            continue
        except OSError as exc:
            error = MailConnectionError(f"{address} port {port}: {exc.strerror or exc}.")
            error.__cause__ = exc
            continue
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Nagle against delayed ACKs costs ~40 ms per command (performance.md).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return Connection(reader, writer, host)
    raise error


def inspection_context() -> ssl.SSLContext:
    """A context that accepts any certificate, only to read what an untrusted server presents.

    Nothing but the handshake ever goes over a connection made with it: no login, no mail.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers("ALL@SECLEVEL=0")
    return context


def certificate_info(der: bytes) -> CertificateInfo | None:
    """Subject, names, issuer and expiry of a DER certificate; None if it cannot be parsed."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    names: list[str] = []
    with contextlib.suppress(x509.ExtensionNotFound):
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names += san.get_values_for_type(x509.DNSName)
        names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        names=tuple(names),
        issuer=cert.issuer.rfc4514_string(),
        not_after=cert.not_valid_after_utc.date().isoformat(),
    )
