"""Web Push (RFC 8030) with message encryption (RFC 8291, aes128gcm) and VAPID (RFC 8292).

Sending goes through pywebpush, which encrypts the payload for the subscription and signs the
VAPID JWT (py_vapid). The HTTP request itself is pinned to one address the caller has already
checked against its network policy (an endpoint comes from an anonymous browser, so it must not
lead into the internal network): the URL names that address while TLS (SNI, certificate check)
and the Host header still name the endpoint's host, so a second DNS answer cannot redirect it.
No redirect is followed and no proxy from the environment is used, for the same reason.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush
from requests.adapters import HTTPAdapter

from postroom.secrets import Secret

# RFC 8030 §7.2: a push service must accept 4096 bytes of payload; aes128gcm (RFC 8188 §2)
# spends 86 bytes on its header (with a 65-byte key id), 16 on the tag and 1 on the padding
# delimiter, which leaves this much for the plaintext.
MAX_PLAINTEXT_BYTES = 4096 - 86 - 16 - 1
_DETAIL_CHARS = 300
_JWT_HOURS = 12  # RFC 8292 §2: `exp` no more than 24 hours ahead


class Urgency(StrEnum):
    """RFC 8030 §5.3: lets a device on battery defer less important messages."""

    VERY_LOW = "very-low"
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class PushOutcome(StrEnum):
    SENT = "sent"  # 201 Created (RFC 8030 §5)
    EXPIRED = "expired"  # 404/410: the subscription is gone for good (RFC 8030 §7.3)
    TEMPORARY = "temporary"  # 429, 5xx, network trouble: try again later
    PERMANENT = "permanent"  # any other refusal: sending it again would be refused again


@dataclass(frozen=True)
class PushResult:
    outcome: PushOutcome
    status: int | None = None  # the push service's HTTP status, None when none answered
    detail: str | None = None  # the push service's answer or the network error, shortened
    retry_after_seconds: float | None = None  # from Retry-After, for 429 and 503
    # No connection could be made: another address of the same host may still answer.
    unreachable: bool = False


@dataclass(frozen=True)
class VapidKeyPair:
    private_pem: Secret  # PKCS#8 PEM
    public_key: str  # uncompressed P-256 point, base64url: the browser's applicationServerKey


@dataclass(frozen=True)
class PushTarget:
    """A subscription as the Push API gives it: endpoint URL and the keys (base64url)."""

    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class PushOptions:
    subject: str  # RFC 8292 §2.1 `sub`: a mailto: or https: contact for the push service
    ttl_seconds: int  # RFC 8030 §5.2: how long the push service keeps it for an offline device
    urgency: Urgency = Urgency.NORMAL
    timeout_seconds: float = 10.0
    extra_ca_file: Path | None = None  # trusted besides the system's CAs (tests, private PKI)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Strict: only the URL-safe alphabet (padding optional); ValueError on anything else."""
    if not text or any(ch not in _B64URL for ch in text.rstrip("=")):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _public_key_text(key: ec.EllipticCurvePrivateKey) -> str:
    raw = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(raw)


def generate_vapid_keys() -> VapidKeyPair:
    """A new P-256 key pair (RFC 8292 §3.2 requires ECDSA on P-256)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return VapidKeyPair(private_pem=Secret(pem.decode()), public_key=_public_key_text(key))


def _load_private_key(private_pem: Secret) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(private_pem.reveal().encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("the VAPID key is not a P-256 private key")
    return key


def public_key_of(private_pem: Secret) -> str:
    return _public_key_text(_load_private_key(private_pem))


def is_p256_point(raw: bytes) -> bool:
    """An uncompressed point on P-256 (RFC 8291 §3.1: the subscription's `p256dh`)."""
    if len(raw) != 65 or raw[0] != 0x04:
        return False
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return False
    return True


def _ssl_context(extra_ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if extra_ca_file is not None:
        context.load_verify_locations(cafile=str(extra_ca_file))
    return context


class _PinnedSession(requests.Session):
    """Connects to the URL's literal address while TLS verifies the endpoint's real host."""

    def __init__(self, host: str, extra_ca_file: Path | None) -> None:
        super().__init__()
        self.trust_env = False  # a proxy from the environment would undo the address check
        adapter = HTTPAdapter(max_retries=0)
        adapter.poolmanager.connection_pool_kw.update(
            server_hostname=host,  # SNI
            assert_hostname=host,  # the certificate must name the host, not the address
            ssl_context=_ssl_context(extra_ca_file),
        )
        self.mount("https://", adapter)

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        # A redirect could lead to an address the policy refuses.
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


def _pinned_url(endpoint: str, address: str) -> tuple[str, str, str]:
    """(URL to the address, Host header, origin for the JWT `aud`)."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    bracketed = f"[{host}]" if ":" in host else host
    origin_netloc = bracketed if parts.port is None else f"{bracketed}:{parts.port}"
    return url, host_header, f"{parts.scheme}://{origin_netloc}"


def _short(text: str) -> str:
    return " ".join(text.split())[:_DETAIL_CHARS]


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def classify(response: requests.Response) -> PushResult:
    """The push service's answer as an outcome (RFC 8030 §5, §7.3; RFC 8292 §4.2)."""
    status = response.status_code
    if status in (200, 201, 202):
        return PushResult(PushOutcome.SENT, status)
    detail = _short(f"HTTP {status} {response.reason or ''}: {response.text}")
    if status in (404, 410):
        return PushResult(PushOutcome.EXPIRED, status, detail)
    if status == 429 or status >= 500:
        return PushResult(PushOutcome.TEMPORARY, status, detail, _retry_after(response))
    # 400 bad request, 401/403 VAPID refused, 413 too large: the same request fails again.
    return PushResult(PushOutcome.PERMANENT, status, detail)


def send_push(
    target: PushTarget,
    payload: bytes,
    *,
    vapid_private_pem: Secret,
    options: PushOptions,
    address: str,
) -> PushResult:
    """Encrypt `payload` for `target` and POST it to the push service at `address` (already
    checked by the caller). Never raises for the push service's or the network's failures."""
    if len(payload) > MAX_PLAINTEXT_BYTES:
        return PushResult(
            PushOutcome.PERMANENT,
            None,
            f"The message is {len(payload)} bytes; Web Push carries at most {MAX_PLAINTEXT_BYTES}.",
        )
    url, host_header, origin = _pinned_url(target.endpoint, address)
    claims: dict[str, str | int] = {
        "sub": options.subject,
        "aud": origin,  # RFC 8292 §2: the push resource's origin, not the pinned address
        "exp": int(time.time()) + _JWT_HOURS * 3600,
    }
    subscription = {"endpoint": url, "keys": {"p256dh": target.p256dh, "auth": target.auth}}
    session = _PinnedSession(urlsplit(target.endpoint).hostname or "", options.extra_ca_file)
    try:
        response = webpush(
            subscription,
            data=payload.decode(),
            vapid_private_key=Vapid02(_load_private_key(vapid_private_pem)),
            vapid_claims=claims,
            content_encoding="aes128gcm",
            ttl=options.ttl_seconds,
            timeout=options.timeout_seconds,
            headers={"Host": host_header, "Urgency": options.urgency.value},
            requests_session=session,
        )
    except WebPushException as exc:
        if isinstance(exc.response, requests.Response):
            return classify(exc.response)
        # Raised before any request: the subscription's keys could not be used.
        return PushResult(PushOutcome.PERMANENT, None, _short(str(exc)))
    except requests.RequestException as exc:
        detail = _short(f"{type(exc).__name__}: {exc}")
        unreachable = isinstance(exc, requests.ConnectionError) and not isinstance(
            exc, (requests.ReadTimeout, requests.exceptions.SSLError)
        )
        return PushResult(PushOutcome.TEMPORARY, None, detail, unreachable=unreachable)
    finally:
        session.close()
    assert isinstance(response, requests.Response)  # curl=False: always a response
    return classify(response)


async def send_push_async(
    target: PushTarget,
    payload: bytes,
    *,
    vapid_private_pem: Secret,
    options: PushOptions,
    address: str,
) -> PushResult:
    """pywebpush's `webpush` is synchronous (requests); its aiohttp variant cannot pin the
    address the way a requests session can, so the synchronous one runs in a thread."""
    return await asyncio.to_thread(
        send_push,
        target,
        payload,
        vapid_private_pem=vapid_private_pem,
        options=options,
        address=address,
    )
