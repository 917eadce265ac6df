"""Probe test helpers: options for the local servers, scripted and silent servers, certificates."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from postroom.enums import AuthMethod, CipherLevel, Security
from postroom.mail.connect import Endpoint, NetworkOptions
from postroom.mail.credentials import Credentials
from postroom.mail.imap_probe import MailboxTarget
from postroom.mail.netguard import NetworkPolicy, parse_networks
from postroom.mail.probe_common import ProbeOptions
from postroom.mail.report import ProbeReport, Step, StepName, StepStatus
from postroom.mail.sasl import PASSWORD_MECHANISMS, Mechanism
from postroom.mail.smtp_probe import SmtpTarget
from postroom.secrets import Secret
from tests.fixtures.mailenv import MailEnv

ALICE = "alice@example.test"
ALICE_PASSWORD = "secret"  # the mailenv fixture's
LOOPBACK = "127.0.0.0/8,::1/128"


def options(
    ca_file: Path | None,
    *,
    timeout: float = 10.0,
    allowed: str = LOOPBACK,
    mechanisms: tuple[Mechanism, ...] = PASSWORD_MECHANISMS,
) -> ProbeOptions:
    network = NetworkOptions(NetworkPolicy(parse_networks(allowed)), ca_file)
    return ProbeOptions(network, timeout_seconds=timeout, password_mechanisms=mechanisms)


def login(
    password: str | None = ALICE_PASSWORD,
    method: AuthMethod = AuthMethod.PASSWORD,
    user: str = ALICE,
) -> Credentials:
    return Credentials(method, user, Secret(password) if password is not None else None)


def smtp_target(
    host: str,
    port: int,
    security: Security,
    credentials: Credentials | None = None,
    level: CipherLevel = CipherLevel.DEFAULT,
) -> SmtpTarget:
    return SmtpTarget(Endpoint(host, port, security, level), credentials or login(), ALICE)


def mailbox_target(
    mailenv: MailEnv,
    port: int,
    security: Security,
    credentials: Credentials | None = None,
    level: CipherLevel = CipherLevel.DEFAULT,
) -> MailboxTarget:
    return MailboxTarget(
        Endpoint(mailenv.host, port, security, level), credentials or login(), ALICE
    )


def names(report: ProbeReport) -> list[tuple[str, str]]:
    """(step, status) pairs: what a reader of the report sees, in order."""
    return [(step.name.value, step.status.value) for step in report.steps]


def failed(report: ProbeReport) -> Step:
    step = report.failed_step
    assert step is not None, names(report)
    return step


def all_ok_until(report: ProbeReport, last: StepName) -> None:
    """Every step before `last` ran and passed; `last` too."""
    statuses = [(s.name, s.status) for s in report.steps]
    index = max(i for i, (name, _) in enumerate(statuses) if name is last)
    assert all(status is not StepStatus.FAILED for _, status in statuses[: index + 1]), statuses
    assert statuses[index][1] is StepStatus.OK, statuses


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP (the kernel completes the handshake) and never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


@dataclass
class SilentServers:
    """Ports that accept TCP and never say a word, counting connections open at once."""

    ports: list[int] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0


@asynccontextmanager
async def silent_servers(count: int) -> AsyncIterator[SilentServers]:
    state = SilentServers()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.open_now += 1
        state.most_open = max(state.most_open, state.open_now)
        try:
            await reader.read()  # until the client gives up and closes
        finally:
            state.open_now -= 1
            writer.close()

    servers = [await asyncio.start_server(hold, "127.0.0.1", 0) for _ in range(count)]
    state.ports = [int(server.sockets[0].getsockname()[1]) for server in servers]
    try:
        yield state
    finally:
        for server in servers:
            server.close()


@dataclass
class ScriptedServer:
    """A line server that greets, then answers each line it receives with the next reply."""

    greeting: bytes
    replies: Sequence[bytes]
    received: list[bytes] = field(default_factory=list)
    port: int = 0


@asynccontextmanager
async def scripted_server(
    greeting: bytes, replies: Sequence[bytes], tls: ssl.SSLContext | None = None
) -> AsyncIterator[ScriptedServer]:
    """Answers a server such as Gmail or Microsoft 365 gives, which the local Postfix won't."""
    state = ScriptedServer(greeting, replies)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(greeting)
            for reply in replies:
                await writer.drain()
                line = await reader.readline()
                if not line:
                    break
                state.received.append(line)
                writer.write(reply)
            await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    state.port = int(server.sockets[0].getsockname()[1])
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


@dataclass(frozen=True)
class TestCertificates:
    """A private CA and server certificates signed by it, as PEM files."""

    __test__ = False  # not a pytest test class

    ca_file: Path
    cert_file: Path  # valid for 127.0.0.1
    key_file: Path
    other_name_cert_file: Path  # valid only for mail.other.test
    expired_cert_file: Path  # valid for 127.0.0.1, expired


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(directory: Path) -> TestCertificates:
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Postroom test CA"))
        .issuer_name(_name("Postroom test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def leaf(names: list[x509.GeneralName], start: dt.datetime, end: dt.datetime) -> bytes:
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name("postroom test server"))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    loopback: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    files = {
        "ca.pem": ca.public_bytes(serialization.Encoding.PEM),
        "cert.pem": leaf(loopback, now - dt.timedelta(days=1), now + dt.timedelta(days=30)),
        "other.pem": leaf(
            [x509.DNSName("mail.other.test")], now - dt.timedelta(days=1), now + dt.timedelta(30)
        ),
        "expired.pem": leaf(loopback, now - dt.timedelta(days=60), now - dt.timedelta(days=30)),
        "key.pem": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    }
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return TestCertificates(
        ca_file=directory / "ca.pem",
        cert_file=directory / "cert.pem",
        key_file=directory / "key.pem",
        other_name_cert_file=directory / "other.pem",
        expired_cert_file=directory / "expired.pem",
    )


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context
