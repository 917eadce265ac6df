"""What a protocol adapter logs in with: a password, or an OAuth2 access token (XOAUTH2)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from postroom.enums import AuthMethod
from postroom.secrets import Secret


@dataclass(frozen=True)
class Credentials:
    """A login. `method` says how: PLAIN/LOGIN, CRAM-MD5, XOAUTH2 (secret = access token)."""

    method: AuthMethod
    username: str = ""
    secret: Secret | None = None


def xoauth2_initial_response(username: str, access_token: Secret) -> str:
    """The SASL XOAUTH2 string (Google's and Microsoft's format), base64-encoded."""
    raw = f"user={username}\x01auth=Bearer {access_token.reveal()}\x01\x01"
    return base64.b64encode(raw.encode()).decode()
