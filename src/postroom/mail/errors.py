"""Errors of the protocol adapters; each leaf also inherits the builtin it means."""

from __future__ import annotations

from dataclasses import dataclass

from postroom.errors import PostroomError


class MailError(PostroomError):
    """Talking to a mail server went wrong; `message` says how, in the server's words if any."""

    code = "mail_error"


class MailTimeoutError(MailError, TimeoutError):
    """The server did not answer in time."""

    code = "mail_timeout"


class MailConnectionError(MailError, ConnectionError):
    """No connection, or it was refused, reset or closed by the server."""

    code = "mail_connection_failed"


class ConnectionClosedError(MailConnectionError):
    """The server closed the connection while Postroom waited for an answer."""

    code = "mail_connection_closed"


class TlsError(MailError, ConnectionError):
    """The TLS handshake failed; `reason` is OpenSSL's short code (e.g. WRONG_VERSION_NUMBER)."""

    code = "tls_failed"

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class CertificateInfo:
    """What a server's certificate says about itself, shown when it is not trusted."""

    subject: str
    names: tuple[str, ...]
    issuer: str
    not_after: str


class CertificateError(TlsError):
    """The server's certificate failed verification (OpenSSL's `verify_code`, message)."""

    code = "certificate_untrusted"

    def __init__(self, message: str, *, verify_code: int, certificate: CertificateInfo | None):
        super().__init__(message, reason="CERTIFICATE_VERIFY_FAILED")
        self.verify_code = verify_code
        self.certificate = certificate


class ProtocolError(MailError, ValueError):
    """The server sent something the protocol does not allow (or another protocol's greeting)."""

    code = "mail_protocol_error"


class ServerRefusedError(MailError):
    """The server answered a command with a refusal; `message` is its own words."""

    code = "mail_refused"

    def __init__(self, message: str, *, command: str, reply_code: int | None = None) -> None:
        super().__init__(message)
        self.command = command
        self.reply_code = reply_code


class NotOfferedError(MailError):
    """The server does not offer an extension Postroom needs (STARTTLS, an AUTH mechanism)."""

    code = "mail_not_offered"

    def __init__(
        self,
        message: str,
        *,
        feature: str,
        offered: tuple[str, ...] = (),
        starttls_offered: bool = False,
        server_reply: str | None = None,
    ) -> None:
        super().__init__(message)
        self.feature = feature
        self.offered = offered  # e.g. the AUTH mechanisms the server does list
        self.starttls_offered = starttls_offered
        self.server_reply = server_reply  # its answer when asked anyway


class MissingSecretError(MailError):
    """The chosen login method needs a password or an OAuth2 token that was not given."""

    code = "mail_secret_missing"


class MessageNotFoundError(MailError, TimeoutError):
    """A message sent to the account did not arrive in its mailbox in time."""

    code = "mail_not_arrived"
