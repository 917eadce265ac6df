"""Server answer or exception at a step → what happened, the server's words, and what to try."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from postroom.enums import AuthMethod, CipherLevel, IncomingProtocol, Security
from postroom.mail import ports
from postroom.mail.connect import Endpoint
from postroom.mail.errors import (
    CertificateError,
    MailConnectionError,
    MessageNotFoundError,
    MissingSecretError,
    NotOfferedError,
    ProtocolError,
    ServerRefusedError,
    TlsError,
)
from postroom.mail.netguard import HostNotAllowedError, HostNotFoundError
from postroom.mail.report import Advice, ProbeKind, StepName

log = logging.getLogger(__name__)

# OpenSSL reasons that mean "the other side did not speak TLS at all": a plain-text greeting
# ("220 …", "* OK …", "+OK …") read as a TLS record.
_PLAINTEXT_REASONS = {
    "WRONG_VERSION_NUMBER",
    "UNKNOWN_PROTOCOL",
    "HTTP_REQUEST",
    "PACKET_LENGTH_TOO_LONG",
    "RECORD_LAYER_FAILURE",
}
# Reasons where a lower cipher level can help: no common protocol version or cipher, or keys
# and signatures the current level finds too weak.
_CIPHER_REASONS = {
    "UNSUPPORTED_PROTOCOL",
    "NO_PROTOCOLS_AVAILABLE",
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "SSLV3_ALERT_HANDSHAKE_FAILURE",
    "TLSV1_ALERT_INSUFFICIENT_SECURITY",
    "NO_SHARED_CIPHER",
    "NO_CIPHERS_AVAILABLE",
    "DH_KEY_TOO_SMALL",
    "EE_KEY_TOO_SMALL",
    "CA_KEY_TOO_SMALL",
    "CA_MD_TOO_WEAK",
    "LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED",
    "UNSAFE_LEGACY_RENEGOTIATION_DISABLED",
    "CLOSED",
}
_LOWER_LEVEL = {
    CipherLevel.STRONG: CipherLevel.DEFAULT,
    CipherLevel.DEFAULT: CipherLevel.MEDIUM,
    CipherLevel.MEDIUM: CipherLevel.WEAK,
}
# OpenSSL verify codes (X509_V_ERR_*): expired; host name or IP address not in the certificate.
_CERT_EXPIRED = 10
_CERT_NAME_MISMATCH = (62, 64)
# Google: "534-5.7.9 Application-specific password required" (2-step verification is on).
_GOOGLE_APP_PASSWORD = ("5.7.9", "application-specific password", "invalidsecondfactor")
# Microsoft 365 / Outlook.com with basic authentication turned off: "535 5.7.139
# Authentication unsuccessful, basic authentication is disabled", "550 5.7.30 Basic
# authentication is not supported for Client Submission".
_MICROSOFT_NO_BASIC = ("5.7.139", "5.7.30", "basic authentication is", "basicauthblocked")
_MICROSOFT_HOSTS = ("office365.com", "outlook.com", "hotmail.com", "live.com")
_GOOGLE_HOSTS = ("gmail.com", "googlemail.com")
# Words of a server that wants TLS before a login: Postfix "530 5.7.0 Must issue a STARTTLS
# command first", IMAP "[PRIVACYREQUIRED]" (RFC 5530), Dovecot "Plaintext authentication
# disallowed on non-secure (SSL/TLS) connections".
_NEEDS_TLS_WORDS = ("starttls", "privacyrequired", "plaintext authentication", "encryption")


@dataclass(frozen=True)
class DiagnosisContext:
    """What was being tested, so the advice can name ports, hosts and levels."""

    kind: ProbeKind
    endpoint: Endpoint
    auth: AuthMethod = AuthMethod.PASSWORD
    username: str = ""
    address: str = ""


@dataclass(frozen=True)
class Diagnosis:
    detail: str
    server_reply: str | None = None
    advice: Advice | None = None
    advice_text: str | None = None


Rule = Callable[[DiagnosisContext, StepName, Exception], Diagnosis | None]


def diagnose(ctx: DiagnosisContext, step: StepName, exc: Exception) -> Diagnosis:
    """The first rule that recognises `exc` decides; an unknown exception is logged."""
    for rule in _RULES:
        found = rule(ctx, step, exc)
        if found is not None:
            return found
    log.error("unexpected error in a connection test", exc_info=exc, extra={"step": step.value})
    return Diagnosis(detail=f"Unexpected error: {type(exc).__name__}: {exc}")


def _incoming_protocol(ctx: DiagnosisContext) -> IncomingProtocol:
    return IncomingProtocol.POP3 if ctx.kind is ProbeKind.POP3 else IncomingProtocol.IMAP


def _standard_port(ctx: DiagnosisContext, security: Security) -> int:
    if ctx.kind in (ProbeKind.SMTP, ProbeKind.ROUND_TRIP):
        return ports.smtp_port(security)
    return ports.incoming_port(_incoming_protocol(ctx), security) or 0


def _usual_ports(ctx: DiagnosisContext) -> str:
    tls, starttls = _standard_port(ctx, Security.TLS), _standard_port(ctx, Security.STARTTLS)
    return f"{tls} with SSL/TLS or {starttls} with STARTTLS"


def _host_is(ctx: DiagnosisContext, domains: tuple[str, ...]) -> bool:
    host = ctx.endpoint.host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


def _dns(_ctx: DiagnosisContext, _step: StepName, exc: Exception) -> Diagnosis | None:
    if isinstance(exc, HostNotFoundError):
        text = "Check the server name for typos; your provider's help page lists the right one."
        return Diagnosis(exc.message, advice=Advice.HOST_NOT_FOUND, advice_text=text)
    if isinstance(exc, HostNotAllowedError):
        return Diagnosis(exc.message, advice=Advice.INTERNAL_ADDRESS, advice_text=exc.message)
    return None


def _timeout(ctx: DiagnosisContext, step: StepName, exc: Exception) -> Diagnosis | None:
    if not isinstance(exc, TimeoutError) or isinstance(exc, MessageNotFoundError):
        return None
    port, security = ctx.endpoint.port, ctx.endpoint.security
    detail = f"No answer from {ctx.endpoint.host}:{port} within the time limit"
    if port == ports.smtp_port(Security.NONE) and step in (StepName.CONNECT, StepName.GREETING):
        text = (
            "Many networks block outgoing connections to port 25. Use port 587 with STARTTLS "
            "(or 465 with SSL/TLS), which mail providers offer for sending."
        )
        return Diagnosis(detail, advice=Advice.USE_PORT_587, advice_text=text)
    if step is StepName.GREETING and security is not Security.TLS:
        implicit = _standard_port(ctx, Security.TLS)
        text = (
            f"The server accepted the connection but stayed silent: port {port} probably "
            f"expects TLS from the first byte (usually port {implicit}). Choose SSL/TLS as the "
            "security mode."
        )
        return Diagnosis(detail, advice=Advice.USE_IMPLICIT_TLS, advice_text=text)
    text = (
        f"A firewall may be dropping the connection, or the port is wrong (usually "
        f"{_usual_ports(ctx)}). Try again later if the server is just slow."
    )
    return Diagnosis(detail, advice=Advice.NO_ANSWER, advice_text=text)


def _certificate(ctx: DiagnosisContext, _step: StepName, exc: Exception) -> Diagnosis | None:
    if not isinstance(exc, CertificateError):
        return None
    cert = exc.certificate
    names = ", ".join(cert.names) if cert and cert.names else "no names"
    about = f" (for {names}; issued by {cert.issuer})" if cert else ""
    if exc.verify_code in _CERT_NAME_MISMATCH:
        text = (
            f"The certificate{about} is not valid for {ctx.endpoint.host}. Use one of the names "
            "it is valid for as the server name, or ask your provider for the right name."
        )
        return Diagnosis(exc.message, advice=Advice.CERTIFICATE_NAME_MISMATCH, advice_text=text)
    if exc.verify_code == _CERT_EXPIRED:
        until = f" on {cert.not_after}" if cert else ""
        text = f"The server's certificate{about} expired{until}. Ask your provider to renew it."
        return Diagnosis(exc.message, advice=Advice.CERTIFICATE_EXPIRED, advice_text=text)
    text = (
        f"The server's certificate{about} is not signed by an authority Postroom trusts. Ask "
        "your provider for a certificate from a public authority; for a server with its own "
        "authority, the Postroom operator may add that CA (POSTROOM_EXTRA_CA_FILE)."
    )
    return Diagnosis(exc.message, advice=Advice.CERTIFICATE_UNTRUSTED, advice_text=text)


def _tls(ctx: DiagnosisContext, _step: StepName, exc: Exception) -> Diagnosis | None:
    if not isinstance(exc, TlsError):
        return None
    level, port = ctx.endpoint.cipher_level, ctx.endpoint.port
    if exc.reason in _PLAINTEXT_REASONS:
        text = (
            f"The server answered in plain text: port {port} expects STARTTLS, not TLS from the "
            f"first byte. Choose STARTTLS, or SSL/TLS on port {_standard_port(ctx, Security.TLS)}."
        )
        return Diagnosis(exc.message, advice=Advice.USE_STARTTLS, advice_text=text)
    lower = _LOWER_LEVEL.get(level)
    if exc.reason in _CIPHER_REASONS and lower is not None:
        text = (
            f"The server and the cipher level {level.value} have no protocol version or cipher "
            f"in common. Try the cipher level {lower.value}."
        )
        return Diagnosis(exc.message, advice=Advice.LOWER_CIPHER_LEVEL, advice_text=text)
    text = (
        "The TLS handshake failed even at this cipher level; the server's TLS may be broken "
        "or obsolete. Ask your provider which settings to use."
    )
    return Diagnosis(exc.message, advice=Advice.TLS_FAILED, advice_text=text)


def _protocol(ctx: DiagnosisContext, _step: StepName, exc: Exception) -> Diagnosis | None:
    if not isinstance(exc, ProtocolError):
        return None
    text = f"Check the port: usually {_usual_ports(ctx)}."
    return Diagnosis(exc.message, advice=Advice.WRONG_PROTOCOL, advice_text=text)


def _needs_tls_first(ctx: DiagnosisContext, words: str) -> Diagnosis | None:
    if ctx.endpoint.security is not Security.NONE:
        return None
    if not any(marker in words.lower() for marker in _NEEDS_TLS_WORDS):
        return None
    return Diagnosis("Refused before STARTTLS", words, Advice.USE_STARTTLS, _starttls_text(ctx))


def _starttls_text(ctx: DiagnosisContext) -> str:
    return (
        "The server accepts a login (and mail) only over an encrypted connection. Choose "
        f"STARTTLS on port {_standard_port(ctx, Security.STARTTLS)}, or SSL/TLS on port "
        f"{_standard_port(ctx, Security.TLS)}."
    )


def _not_offered(ctx: DiagnosisContext, _step: StepName, exc: Exception) -> Diagnosis | None:
    if not isinstance(exc, NotOfferedError):
        return None
    if exc.feature == "STARTTLS":
        text = (
            f"Choose SSL/TLS on port {_standard_port(ctx, Security.TLS)}; choose no encryption "
            "only if your provider says so (the password would travel readable)."
        )
        return Diagnosis(exc.message, advice=Advice.STARTTLS_NOT_OFFERED, advice_text=text)
    words = exc.server_reply
    if ctx.endpoint.security is Security.NONE and exc.starttls_offered:
        return Diagnosis(exc.message, words, Advice.USE_STARTTLS, _starttls_text(ctx))
    if not exc.offered:
        text = (
            "The server offers no login here. If it accepts mail without one, choose no "
            f"authentication; otherwise check the port (usually {_usual_ports(ctx)})."
        )
        return Diagnosis(exc.message, words, Advice.AUTH_METHOD_NOT_OFFERED, text)
    text = f"The server offers these login methods: {', '.join(exc.offered)}. Choose one of them."
    return Diagnosis(exc.message, words, Advice.AUTH_METHOD_NOT_OFFERED, text)


def _missing_secret(ctx: DiagnosisContext, _step: StepName, exc: Exception) -> Diagnosis | None:
    if not isinstance(exc, MissingSecretError):
        return None
    if ctx.auth is AuthMethod.OAUTH2:
        text = "Sign in with the provider (OAuth2) to connect this account, then test again."
        return Diagnosis(exc.message, advice=Advice.OAUTH_NOT_CONNECTED, advice_text=text)
    text = "Enter the mailbox's password (or app password), or choose no authentication."
    return Diagnosis(exc.message, advice=Advice.PASSWORD_MISSING, advice_text=text)


def _auth_refused(ctx: DiagnosisContext, words: str) -> Diagnosis:
    lowered = words.lower()
    detail = f"The server refused the login {ctx.username}"
    if any(m in lowered for m in _GOOGLE_APP_PASSWORD) or (
        _host_is(ctx, _GOOGLE_HOSTS) and ctx.auth is not AuthMethod.OAUTH2
    ):
        text = (
            "Google requires an app password for this account: turn on 2-step verification, "
            "create an app password in your Google account (Security → App passwords) and enter "
            "it here instead of your usual password, or connect with OAuth2."
        )
        return Diagnosis(detail, words, Advice.APP_PASSWORD, text)
    if any(m in lowered for m in _MICROSOFT_NO_BASIC) or (
        _host_is(ctx, _MICROSOFT_HOSTS) and ctx.auth is not AuthMethod.OAUTH2
    ):
        text = (
            "Microsoft has turned off password logins (basic authentication) for this mailbox. "
            "Choose OAuth2 as the login method and sign in with Microsoft."
        )
        return Diagnosis(detail, words, Advice.USE_OAUTH2, text)
    if ctx.auth is AuthMethod.OAUTH2:
        text = "The provider rejected the OAuth2 access; reconnect the account (sign in again)."
        return Diagnosis(detail, words, Advice.OAUTH_TOKEN_REJECTED, text)
    text = (
        f"Check the login ({ctx.username}; usually the full address) and the password. It is "
        "the mailbox's own password, or an app password where the provider requires one — not "
        "your Postroom password."
    )
    return Diagnosis(detail, words, Advice.WRONG_PASSWORD, text)


def _envelope_refused(ctx: DiagnosisContext, step: StepName, words: str) -> Diagnosis:
    # Without a login, a policy refusal (5.7.x, RFC 3463: security or policy status) of the
    # mailbox's own address means "log in first".
    lowered = words.lower()
    if ctx.auth is AuthMethod.NONE and any(m in lowered for m in (" 5.7.", "auth", "relay")):
        text = "This server sends mail only after a login: choose a login method and password."
        return Diagnosis("Refused without a login", words, Advice.AUTH_REQUIRED, text)
    if step is StepName.MAIL_FROM:
        text = (
            f"The server does not let {ctx.username or 'this login'} send as {ctx.address}. Use "
            "the address of this mailbox, or ask your provider to allow this sender address."
        )
        return Diagnosis("Sender address refused", words, Advice.SENDER_REFUSED, text)
    text = f"The server refused the mailbox's own address {ctx.address}; check the address."
    return Diagnosis("Recipient address refused", words, Advice.RECIPIENT_REFUSED, text)


def _refused(ctx: DiagnosisContext, step: StepName, exc: Exception) -> Diagnosis | None:
    if not isinstance(exc, ServerRefusedError):
        return None
    words = exc.message
    needs_tls = _needs_tls_first(ctx, words)
    if needs_tls is not None:
        return needs_tls
    if step is StepName.AUTH:
        return _auth_refused(ctx, words)
    if step in (StepName.MAIL_FROM, StepName.RCPT_TO):
        return _envelope_refused(ctx, step, words)
    detail = f"The server refused {exc.command}"
    if step is StepName.SELECT:
        text = "The server would not open the INBOX; ask your provider whether the mailbox works."
        return Diagnosis(detail, words, Advice.MAILBOX_UNAVAILABLE, text)
    return Diagnosis(detail, words, Advice.SERVER_REFUSED, "Read the server's answer above.")


def _not_arrived(_ctx: DiagnosisContext, _step: StepName, exc: Exception) -> Diagnosis | None:
    if not isinstance(exc, MessageNotFoundError):
        return None
    text = (
        "The server accepted the message but it was not in the incoming mailbox in time. It may "
        "arrive later, or land in a spam folder; check the incoming server settings."
    )
    return Diagnosis(exc.message, advice=Advice.MESSAGE_NOT_ARRIVED, advice_text=text)


def _connection(ctx: DiagnosisContext, step: StepName, exc: Exception) -> Diagnosis | None:
    if not isinstance(exc, MailConnectionError):
        return None
    if step is StepName.CONNECT and isinstance(exc.__cause__, ConnectionRefusedError):
        text = (
            f"Nothing accepts connections on port {ctx.endpoint.port} at {ctx.endpoint.host}. "
            f"Check the port: usually {_usual_ports(ctx)}."
        )
        return Diagnosis(exc.message, advice=Advice.PORT_CLOSED, advice_text=text)
    text = "The server or the network broke the connection; try again, then check the port."
    return Diagnosis(exc.message, advice=Advice.CONNECTION_LOST, advice_text=text)


_RULES: tuple[Rule, ...] = (
    _dns,
    _not_arrived,
    _timeout,
    _certificate,
    _tls,
    _protocol,
    _not_offered,
    _missing_secret,
    _refused,
    _connection,
)
