"""What the SMTP, IMAP and POP3 probes share: options, reaching the server, the TLS step."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from postroom.enums import AuthMethod, Security
from postroom.mail.connect import (
    Connection,
    Endpoint,
    NetworkOptions,
    certificate_info,
    connect,
    inspection_context,
    resolve,
)
from postroom.mail.credentials import Credentials
from postroom.mail.errors import CertificateError, CertificateInfo, MailError
from postroom.mail.report import Advice, StepName
from postroom.mail.sasl import PASSWORD_MECHANISMS, Mechanism
from postroom.mail.steps import ProgressCallback, StepRecorder, loop_deadline

# What a protocol says before its STARTTLS handshake (greeting, EHLO, STARTTLS); empty for
# implicit TLS. Used again, without recording, to read an untrusted certificate.
Preamble = Callable[[Connection], Awaitable[None]]
INSPECT_SECONDS = 3.0
DEFAULT_TIMEOUT_SECONDS = 15.0
# Kept free at the end of the time limit for LOGOUT/QUIT and closing, so the whole test ends
# within the limit even when a step used all of its time.
CLOSE_RESERVE_SECONDS = 1.0


@dataclass(frozen=True)
class ProbeOptions:
    network: NetworkOptions = field(default_factory=NetworkOptions)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    # Order in which "password" tries PLAIN and LOGIN among those offered.
    password_mechanisms: tuple[Mechanism, ...] = PASSWORD_MECHANISMS
    progress: ProgressCallback | None = None


def steps_deadline(options: ProbeOptions) -> float:
    """The loop time by which every step must be done."""
    reserve = min(CLOSE_RESERVE_SECONDS, options.timeout_seconds / 10)
    return loop_deadline(options.timeout_seconds - reserve)


async def no_preamble(_conn: Connection) -> None:
    return None


@dataclass
class ProbeRun:
    """One probe in progress: its recorder, where it connects, and how."""

    rec: StepRecorder
    endpoint: Endpoint
    options: ProbeOptions
    addresses: list[str] = field(default_factory=list)


async def reach(run: ProbeRun) -> Connection:
    """DNS (through the network policy) and TCP, as two recorded steps."""
    endpoint, policy = run.endpoint, run.options.network.policy
    async with run.rec.step(StepName.DNS) as step:
        run.addresses = await resolve(policy, endpoint.host, endpoint.port)
        step.detail = f"{endpoint.host} is {', '.join(run.addresses)}"
    async with run.rec.step(StepName.CONNECT) as step:
        conn = await connect(run.addresses, endpoint.port, endpoint.host)
        step.detail = f"Connected to {conn.address} port {endpoint.port}"
    return conn


async def tls_step(run: ProbeRun, conn: Connection, preamble: Preamble) -> None:
    """The TLS handshake as a recorded step; an untrusted certificate is read for the advice."""
    endpoint = run.endpoint
    async with run.rec.step(StepName.TLS) as step:
        try:
            await conn.start_tls(run.options.network.ssl_context(endpoint.cipher_level))
        except CertificateError as exc:
            exc.certificate = await inspect_certificate(run.addresses, endpoint, preamble)
            raise
        version, cipher = conn.tls_summary()
        run.rec.facts.update(tls_version=version, tls_cipher=cipher)
        step.detail = f"{version}, {cipher}; certificate valid for {endpoint.host}"


def connection_plan(security: Security) -> tuple[StepName, ...]:
    """The steps up to the login, in the order each security mode takes them."""
    if security is Security.TLS:
        middle: tuple[StepName, ...] = (StepName.TLS, StepName.GREETING, StepName.CAPABILITIES)
    elif security is Security.STARTTLS:
        middle = (
            StepName.GREETING,
            StepName.CAPABILITIES,
            StepName.STARTTLS,
            StepName.TLS,
            StepName.CAPABILITIES,
        )
    else:  # the skipped TLS and STARTTLS steps are shown too, saying why
        middle = (StepName.TLS, StepName.GREETING, StepName.CAPABILITIES, StepName.STARTTLS)
    return (StepName.DNS, StepName.CONNECT, *middle, StepName.AUTH)


def stop_if_signed_out(run: ProbeRun, credentials: Credentials) -> None:
    """An OAuth2 login without a token yet (the account is being set up and the provider
    sign-in comes next): the test ends before the login, which is not counted as a failure."""
    if credentials.method is AuthMethod.OAUTH2 and credentials.secret is None:
        run.rec.stop(
            StepName.AUTH,
            "Not signed in with the provider yet (OAuth2)",
            Advice.OAUTH_NOT_CONNECTED,
            "Sign in with the provider to connect this account; the login is tested then.",
        )


def skip_tls(run: ProbeRun) -> None:
    if run.endpoint.security is Security.NONE:
        run.rec.skip(StepName.TLS, "Security none: nothing is encrypted")


async def inspect_certificate(
    addresses: Sequence[str], endpoint: Endpoint, preamble: Preamble
) -> CertificateInfo | None:
    """Names and issuer of a certificate that failed verification; None if unreadable.

    A second connection, with a context that accepts anything, carries only the handshake.
    """
    der: bytes | None = None
    try:
        async with asyncio.timeout(INSPECT_SECONDS):
            conn = await connect(addresses, endpoint.port, endpoint.host)
            try:
                await preamble(conn)
                await conn.start_tls(inspection_context())
                der = conn.peer_certificate()
            finally:
                await conn.close()
    except (MailError, OSError):
        return None
    return certificate_info(der) if der else None
