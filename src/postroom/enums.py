"""Value sets shared by every layer: roles, modes, security, authentication, protocols."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # company administrator: every account, cannot be restricted (E1)
    USER = "user"


class EmailMode(StrEnum):
    """Whether and how a company sends mail (B6): off until it chooses."""

    OFF = "off"
    RELAY = "relay"  # the platform's SMTP relay, with limits (B5)
    OWN = "own"  # its own servers, no limit


class Security(StrEnum):
    NONE = "none"  # plain: nothing encrypted
    STARTTLS = "starttls"
    TLS = "tls"  # implicit TLS from the first byte


class CipherLevel(StrEnum):
    DEFAULT = "default"
    STRONG = "strong"
    MEDIUM = "medium"
    WEAK = "weak"


class AuthMethod(StrEnum):
    NONE = "none"
    PASSWORD = "password"  # noqa: S105  (PLAIN or LOGIN, whichever the server offers)
    CRAM_MD5 = "cram_md5"
    OAUTH2 = "oauth2"  # XOAUTH2


class IncomingProtocol(StrEnum):
    NONE = "none"  # an SMTP-only gateway: send only
    IMAP = "imap"
    POP3 = "pop3"


class AccessMode(StrEnum):
    """Who besides the owner and administrators may use an account (B3)."""

    EVERYONE = "everyone"  # a company account usable by every user of the company
    LISTED = "listed"  # only the users and groups on the account's access list


class Language(StrEnum):
    PL = "pl"
    EN = "en"


class OAuthProvider(StrEnum):
    """Identity providers a mailbox can be connected with for XOAUTH2 (A3)."""

    GOOGLE = "google"
    MICROSOFT = "microsoft"


class AttentionReason(StrEnum):
    """Why an account needs a person before it works again (account health)."""

    OAUTH_RECONNECT = "oauth_reconnect"  # the provider refused the refresh token: sign in again
    AUTH_FAILURES = "auth_failures"  # the server refused the login too many times in a row
