"""TLS contexts for each cipher level (A2). Certificates are verified at every level."""

from __future__ import annotations

import ssl
from pathlib import Path

from postroom.enums import CipherLevel

# Forward-secret AEAD suites for TLS 1.2; TLS 1.3 suites are all AEAD with forward secrecy.
STRONG_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL"
# OpenSSL's HIGH set: adds CBC modes and RSA key exchange (no forward secrecy) for older servers.
# PSK and SRP suites need credentials Postroom never has; offering them only lengthens the hello.
MEDIUM_CIPHERS = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:!PSK:!SRP@SECLEVEL=1"
# Everything OpenSSL still has, at security level 0 (small DH/RSA keys, SHA-1 signatures).
WEAK_CIPHERS = "ALL:!aNULL:!eNULL:!PSK:!SRP@SECLEVEL=0"


def make_ssl_context(level: CipherLevel, extra_ca_file: Path | None = None) -> ssl.SSLContext:
    """A client context for `level`; `extra_ca_file` adds CAs trusted besides the system's."""
    context = ssl.create_default_context()
    if extra_ca_file is not None:
        context.load_verify_locations(cafile=str(extra_ca_file))
    # Verification stays on at every level: a weaker cipher must never mean "trust anyone".
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if level is CipherLevel.STRONG:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(STRONG_CIPHERS)
    elif level is CipherLevel.MEDIUM:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(MEDIUM_CIPHERS)
    elif level is CipherLevel.WEAK:
        # The oldest version this OpenSSL has (TLS 1.0 where SSLv3 is not built). Naming
        # TLSVersion.TLSv1 would do the same but raises a DeprecationWarning since Python 3.10.
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.set_ciphers(WEAK_CIPHERS)
        # Old servers that don't know RFC 5746 secure renegotiation still get a handshake.
        context.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0)
    return context
