"""SASL client mechanisms shared by SMTP, IMAP and POP3: PLAIN, LOGIN, CRAM-MD5, XOAUTH2."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from postroom.enums import AuthMethod
from postroom.mail.credentials import Credentials, xoauth2_initial_response
from postroom.mail.errors import MissingSecretError, NotOfferedError, ProtocolError
from postroom.secrets import Secret


class Mechanism(StrEnum):
    PLAIN = "PLAIN"  # RFC 4616
    LOGIN = "LOGIN"  # draft-murchison-sasl-login: username, then password, each on request
    CRAM_MD5 = "CRAM-MD5"  # RFC 2195
    XOAUTH2 = "XOAUTH2"  # Google's and Microsoft's bearer-token mechanism


# "Password" means PLAIN or LOGIN, whichever the server offers; PLAIN first (one round trip).
PASSWORD_MECHANISMS: tuple[Mechanism, ...] = (Mechanism.PLAIN, Mechanism.LOGIN)


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def unb64(data: bytes) -> bytes:
    try:
        return base64.b64decode(data.strip(), validate=True)
    except ValueError as exc:
        raise ProtocolError("The server sent a SASL challenge that is not base64.") from exc


def candidates(method: AuthMethod, password_order: Sequence[Mechanism]) -> tuple[Mechanism, ...]:
    if method is AuthMethod.PASSWORD:
        return tuple(password_order)
    if method is AuthMethod.CRAM_MD5:
        return (Mechanism.CRAM_MD5,)
    if method is AuthMethod.OAUTH2:
        return (Mechanism.XOAUTH2,)
    return ()


def choose(
    method: AuthMethod,
    offered: Collection[str],
    password_order: Sequence[Mechanism] = PASSWORD_MECHANISMS,
    *,
    starttls_offered: bool = False,
) -> Mechanism:
    """The mechanism to use for `method` among those the server offers."""
    wanted = candidates(method, password_order)
    listed = {name.upper() for name in offered}
    for mechanism in wanted:
        if mechanism.value in listed:
            return mechanism
    names = " or ".join(m.value for m in wanted)
    raise NotOfferedError(
        f"The server does not offer {names} (it offers: {', '.join(sorted(listed)) or 'none'}).",
        feature="AUTH",
        offered=tuple(sorted(listed)),
        starttls_offered=starttls_offered,
    )


def _secret(credentials: Credentials) -> str:
    if credentials.secret is None:
        what = "access token" if credentials.method is AuthMethod.OAUTH2 else "password"
        raise MissingSecretError(f"No {what} is set for the login {credentials.username}.")
    return credentials.secret.reveal()


@dataclass
class SaslClient:
    """One authentication exchange; challenges and responses are raw (adapters add base64)."""

    mechanism: Mechanism
    credentials: Credentials
    _round: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        _secret(self.credentials)  # fail before a byte is sent, not halfway through

    def initial_response(self) -> bytes | None:
        """The response sent with the command (RFC 4954 §4), or None to wait for a challenge."""
        user, secret = self.credentials.username, _secret(self.credentials)
        if self.mechanism is Mechanism.PLAIN:
            return f"\0{user}\0{secret}".encode()
        if self.mechanism is Mechanism.XOAUTH2:
            return base64.b64decode(xoauth2_initial_response(user, Secret(secret)))
        return None

    def respond(self, challenge: bytes) -> bytes:
        """The answer to one server challenge."""
        self._round += 1
        user, secret = self.credentials.username, _secret(self.credentials)
        if self.mechanism is Mechanism.LOGIN:
            return (user if self._round == 1 else secret).encode()
        if self.mechanism is Mechanism.CRAM_MD5:
            digest = hmac.new(secret.encode(), challenge, hashlib.md5).hexdigest()
            return f"{user} {digest}".encode()
        # PLAIN and XOAUTH2 sent everything already. A challenge now is XOAUTH2's JSON error:
        # the client answers with an empty response and the server then sends its refusal.
        return b""
