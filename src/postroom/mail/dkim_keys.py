"""DKIM (RFC 6376): 2048-bit RSA key pairs, the TXT record that publishes one, signing."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass

import dkim
import dns.exception
import dns.resolver
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from postroom.secrets import Secret

KEY_BITS = 2048  # RFC 8301 §3.2: at least 1024, 2048 recommended; fits one TXT record set
# What a relay message signs (RFC 6376 §5.4.1 lists From as required and these as
# recommended). Absent ones are signed too ("over-signing"), so nobody can add them later.
SIGNED_HEADERS = (
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Reply-To",
    "In-Reply-To",
    "References",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)
_SELECTOR = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_WSP = re.compile(r"\s+")

# dkimpy asks DNS through a function name -> TXT bytes (or None).
TxtFunction = Callable[..., bytes | None]


class DkimSigningError(ValueError):
    """The key cannot sign (it is not a valid RSA private key)."""


@dataclass(frozen=True)
class DkimKeyPair:
    private_pem: Secret  # PKCS#1 PEM, as dkimpy reads it; stored only encrypted
    public_key: str  # base64 SubjectPublicKeyInfo: the p= value


def valid_selector(selector: str) -> bool:
    """A selector is one DNS label here (RFC 6376 §3.1 allows dotted ones; one label is enough)."""
    return bool(_SELECTOR.match(selector))


def generate_key_pair() -> DkimKeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return DkimKeyPair(Secret(private_pem), base64.b64encode(public_der).decode("ascii"))


def public_key_of(private_pem: Secret) -> str:
    """The p= value for a private key (the platform's key comes from a file)."""
    try:
        key = serialization.load_pem_private_key(private_pem.reveal().encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise DkimSigningError("not a PEM private key without a passphrase") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DkimSigningError("not an RSA private key")
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def record_name(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain}"


def record_value(public_key: str) -> str:
    """The TXT record to publish (RFC 6376 §3.6.1). DNS servers split it into strings of 255
    characters themselves; the strings are joined again when read."""
    return f"v=DKIM1; k=rsa; p={public_key}"


def key_in_record(raw: str) -> str | None:
    """The p= value of a published record (white space removed), or None without one."""
    for part in raw.split(";"):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "p":
            return _WSP.sub("", value)
    return None


def published_records(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """The TXT records at `name` (strings of each joined); [] when there are none.

    Raises dns.exception.DNSException when DNS did not answer.
    """
    try:
        answer = resolver.resolve(name, "TXT", search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return []
    if answer.rrset is None:
        return []
    return [b"".join(rdata.strings).decode("ascii", "replace") for rdata in answer.rrset]


def txt_function(resolver: dns.resolver.Resolver) -> TxtFunction:
    """dkimpy's `dnsfunc` asking `resolver`: verification uses our DNS servers and cache."""

    def lookup(name: bytes | str, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii") if isinstance(name, bytes) else name
        try:
            records = published_records(resolver, text.rstrip("."))
        except dns.exception.DNSException as exc:
            raise dkim.DnsTimeoutError(f"{text}: {type(exc).__name__}") from exc
        return records[0].encode("ascii") if records else None

    return lookup


def sign(raw: bytes, *, selector: str, domain: str, private_pem: Secret) -> bytes:
    """`raw` with a DKIM-Signature on top (rsa-sha256, relaxed/relaxed: survives the header
    refolding and trailing-space changes of servers on the way, RFC 6376 §3.4)."""
    try:
        header = dkim.sign(
            raw,
            selector.encode("ascii"),
            domain.encode("ascii"),
            private_pem.reveal().encode("ascii"),
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[name.encode("ascii") for name in SIGNED_HEADERS],
        )
    except (dkim.KeyFormatError, dkim.ParameterError) as exc:
        raise DkimSigningError(str(exc)) from exc
    return bytes(header) + raw


def verify(raw: bytes, resolver: dns.resolver.Resolver) -> bool:
    """Whether the message's first DKIM-Signature verifies, its key asked through `resolver`."""
    return bool(dkim.verify(raw, dnsfunc=txt_function(resolver)))
