"""Browsers subscribed to a client's Web Push: the contact's portal link, subscribe, expire.

The portal token (Contact.portal_token) is the only credential of the public page
/push/{token}: it lets a browser subscribe to that contact's notifications and nothing else,
and regenerating it cuts off a link that was passed on. An endpoint comes from an anonymous
browser, so it is checked like any user-given host: https only, and never an internal address
(unless the operator allows that network, as tests do for their local push service).
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models_channels import PushSubscription
from postroom.db.models_crm import Client, Contact
from postroom.errors import ConflictError, FieldProblem, ValidationError
from postroom.mail.netguard import HostNotAllowedError, NetworkPolicy
from postroom.notify.webpush import b64url_decode, is_p256_point
from postroom.services.guards import get_or_404
from postroom.services.runtime import Runtime

MAX_ENDPOINT = 2000
AUTH_BYTES = 16  # RFC 8291 §3.2: the authentication secret is 16 octets
_TOKEN_BYTES = 32


@dataclass(frozen=True)
class PortalOwner:
    """Whose page a portal token opens."""

    company_id: int
    contact_id: int
    client_id: int | None


def portal_path(token: str) -> str:
    return f"/push/{token}"


def make_portal_token(session: Session, *, contact_id: int) -> str:
    """Give the contact a new random portal token (the old link stops working)."""
    contact = get_or_404(session, Contact, contact_id, "Contact")
    contact.portal_token = secrets.token_urlsafe(_TOKEN_BYTES)
    return contact.portal_token


def owner_of(runtime: Runtime, token: str) -> PortalOwner | None:
    """Look the token up across companies (the page has no login to say whose it is)."""
    if not token or len(token) > 64:
        return None
    with runtime.platform() as session:
        contact = session.scalar(select(Contact).where(Contact.portal_token == token))
        if contact is None:
            return None
        return PortalOwner(contact.company_id, contact.id, contact.client_id)


def _problem(field: str, message: str, code: str) -> ValidationError:
    return ValidationError(message, [FieldProblem(field, message, code)])


def _addresses(host: str) -> list[str]:
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise _problem(
            "endpoint", f"The push service {host} does not exist in DNS.", "endpoint_unknown_host"
        ) from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_endpoint(endpoint: str, policy: NetworkPolicy) -> str:
    """The endpoint if a browser's push service could have given it; else a clear error."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if len(endpoint) > MAX_ENDPOINT or any(ch.isspace() or ord(ch) < 32 for ch in endpoint):
        raise _problem(
            "endpoint",
            f"The endpoint must be a URL of at most {MAX_ENDPOINT} characters, without spaces.",
            "invalid_endpoint",
        )
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise _problem(
            "endpoint",
            "The endpoint must be the https:// URL the browser's push service gave.",
            "invalid_endpoint",
        )
    addresses = _addresses(host)
    try:
        policy.check(host, addresses)
    except HostNotAllowedError as exc:
        raise _problem("endpoint", exc.message, "endpoint_not_allowed") from exc
    # Plain http only towards a network the operator allowed explicitly (a local test push
    # service): RFC 8030 §8 requires push services to use TLS.
    if parts.scheme == "http" and not all(
        any(ipaddress.ip_address(a) in net for net in policy.allowed) for a in addresses
    ):
        raise _problem(
            "endpoint", "The endpoint must use https:// (RFC 8030 §8).", "endpoint_not_https"
        )
    return endpoint


def _key(keys: dict[str, Any], name: str, size: int) -> str:
    value = keys.get(name)
    raw = b""
    if isinstance(value, str):
        try:
            raw = b64url_decode(value)
        except ValueError:
            raw = b""
    valid = is_p256_point(raw) if name == "p256dh" else len(raw) == size
    if not valid:
        what = (
            "an uncompressed P-256 public key (65 bytes)"
            if name == "p256dh"
            else f"{size} random bytes"
        )
        raise _problem(
            f"keys.{name}", f"keys.{name} must be {what} in base64url.", f"invalid_{name}"
        )
    return value.rstrip("=") if isinstance(value, str) else ""


def parse_subscription(data: Any, policy: NetworkPolicy) -> tuple[str, str, str]:
    """(endpoint, p256dh, auth) from the PushSubscription JSON (Push API `toJSON()`)."""
    if not isinstance(data, dict):
        raise _problem("body", "Send the browser's PushSubscription as JSON.", "invalid_body")
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise _problem("endpoint", "The subscription has no endpoint.", "invalid_endpoint")
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise _problem("keys", "The subscription has no keys (p256dh, auth).", "invalid_keys")
    p256dh = _key(keys, "p256dh", 65)
    auth = _key(keys, "auth", AUTH_BYTES)
    return check_endpoint(endpoint, policy), p256dh, auth


def subscribe(
    session: Session,
    owner: PortalOwner,
    data: Any,
    *,
    policy: NetworkPolicy,
    user_agent: str = "",
) -> PushSubscription:
    """Store (or renew) the browser's subscription for the token's contact."""
    endpoint, p256dh, auth = parse_subscription(data, policy)
    row = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if row is None:
        row = PushSubscription(endpoint=endpoint, p256dh=p256dh, auth=auth)
    row.contact_id, row.client_id = owner.contact_id, owner.client_id
    row.p256dh, row.auth, row.expired_at = p256dh, auth, None
    row.user_agent = user_agent[:500]
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:
        # The endpoint is stored for another company: a browser's endpoint is unique to one
        # page's service worker, so this is a copied subscription, not a second office.
        raise ConflictError(
            "This browser subscription is registered elsewhere; subscribe again from this page.",
            code="subscription_taken",
        ) from exc
    return row


def unsubscribe(session: Session, owner: PortalOwner, endpoint: str) -> bool:
    """Forget the contact's subscription with this endpoint; False if there was none."""
    row = session.scalar(
        select(PushSubscription).where(
            PushSubscription.endpoint == endpoint,
            PushSubscription.contact_id == owner.contact_id,
        )
    )
    if row is None:
        return False
    session.delete(row)
    return True


def _of_client(client_id: int) -> Any:
    contacts = select(Contact.id).where(Contact.client_id == client_id)
    return or_(
        PushSubscription.contact_id.in_(contacts),
        PushSubscription.contact_id.is_(None) & (PushSubscription.client_id == client_id),
    )


def for_client(
    session: Session, *, client_id: int, live_only: bool = False
) -> Sequence[PushSubscription]:
    """The subscriptions of the client's contact persons (404 for another company's)."""
    get_or_404(session, Client, client_id, "Client")
    query = select(PushSubscription).where(_of_client(client_id))
    if live_only:
        query = query.where(PushSubscription.expired_at.is_(None))
    return session.scalars(query.order_by(PushSubscription.id)).all()


def for_contact(session: Session, *, contact_id: int) -> Sequence[PushSubscription]:
    get_or_404(session, Contact, contact_id, "Contact")
    return session.scalars(
        select(PushSubscription)
        .where(PushSubscription.contact_id == contact_id)
        .order_by(PushSubscription.id)
    ).all()


def mark_expired(session: Session, subscription_id: int) -> None:
    """The push service said the subscription is gone (404/410): never send to it again.
    A subscription deleted meanwhile is nothing to mark."""
    row = session.get(PushSubscription, subscription_id)
    if row is not None and row.expired_at is None:
        row.expired_at = utcnow()
