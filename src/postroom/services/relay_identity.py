"""Relay mail that never fails DMARC: the company's own From signed with its DKIM key, or
the platform's From with the company's name, as mailing lists do (RFC 7489 §3, issue 9)."""

# Relay mail leaves with the platform's envelope sender (bounces come back to Postroom), so
# SPF can only ever align with the platform's domain. DMARC then passes in one of two ways:
# - the sender's domain is one the company verified: From stays the sender's address and the
#   message carries a DKIM signature for that domain (d= aligned with From);
# - otherwise From becomes "<company> via <platform>" <relay address>, Reply-To the sender's
#   address (an explicit Reply-To of the user is kept), and the message is signed for the
#   relay address's domain when the operator configured a platform key.
# Called once a relay message is built and before it is stored: what is stored is what is sent.

from __future__ import annotations

import dataclasses
import logging
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from postroom.addresses import InvalidAddressError, ascii_address
from postroom.config import Settings
from postroom.db.models import User
from postroom.mail import dkim_keys, mime, mime_headers
from postroom.secrets import Secret, SecretBox
from postroom.services import sender_domains
from postroom.services.companies import get_company
from postroom.services.deliverability_headers import get_field, set_field

log = logging.getLogger("postroom.relay_identity")


@dataclasses.dataclass(frozen=True)
class RelaySigner:
    """Who signs: d= and s= of the signature, and the key."""

    domain: str
    selector: str
    key: Secret


@dataclasses.dataclass(frozen=True)
class RelayIdentity:
    """What relay mail from one sender says, and who signs it (None: unsigned)."""

    from_name: str
    from_address: str
    reply_to: str | None  # set when From is rewritten and the user gave no Reply-To
    signer: RelaySigner | None


def domain_of(address: str) -> str:
    try:
        return ascii_address(address).rpartition("@")[2].lower()
    except InvalidAddressError:
        return address.rpartition("@")[2].lower()


@lru_cache(maxsize=4)
def _read_key(path: Path, _mtime_ns: int) -> Secret:
    # Keyed by the file's mtime: an operator replacing the key is read again, without a restart.
    return Secret(path.read_text(encoding="ascii"))


def platform_signer(settings: Settings) -> RelaySigner | None:
    """The platform's own DKIM key for the relay address's domain, if the operator set one."""
    path, selector = settings.relay_dkim_private_key_file, settings.relay_dkim_selector
    if path is None or selector is None or not settings.relay_from_address:
        return None
    try:
        key = _read_key(path, path.stat().st_mtime_ns)
    except OSError as exc:
        # Mail still goes, unsigned: From is the platform's own, so SPF can carry DMARC.
        log.error("platform DKIM key unreadable, relay mail unsigned: %s", exc)
        return None
    return RelaySigner(domain_of(settings.relay_from_address), selector, key)


def via_name(company_name: str, settings: Settings) -> str:
    """ "Biuro Kowalski via Postroom": whose mail it is, and who sent it for them."""
    return f"{company_name} via {settings.platform_name}"


def identity_for(
    session: Session, *, actor: User, box: SecretBox, settings: Settings, reply_to_given: bool
) -> RelayIdentity:
    """From, Reply-To and signer of relay mail sent by `actor` (in the session's company)."""
    company = get_company(session, actor.company_id)
    row = sender_domains.verified_domain(session, domain_of(actor.email))
    if row is not None:
        key = sender_domains.private_key(row, box)
        signer = RelaySigner(row.domain, row.dkim_selector, key)
        return RelayIdentity(company.name, actor.email, None, signer)
    name, address = relay_from(session, actor=actor, settings=settings)
    return RelayIdentity(
        name, address, None if reply_to_given else actor.email, platform_signer(settings)
    )


def relay_from(session: Session, *, actor: User, settings: Settings) -> tuple[str, str]:
    """(display name, address) relay mail of `actor` goes out From: the user's own address
    when its domain is verified, else "<company> via <platform>" at the relay's address.
    What the sender picker shows, and what identity_for puts in the message."""
    company = get_company(session, actor.company_id)
    if sender_domains.verified_domain(session, domain_of(actor.email)) is not None:
        return company.name, actor.email
    return via_name(company.name, settings), settings.relay_from_address or actor.email


def apply_identity(raw: bytes, identity: RelayIdentity) -> bytes:
    """`raw` with the identity's From (and Reply-To), then signed if there is a signer."""
    from_value = mime_headers.address_list(
        "From", [(identity.from_name, ascii_address(identity.from_address))]
    )
    raw = set_field(raw, "From", from_value)
    if identity.reply_to is not None:
        value = mime_headers.address_list("Reply-To", [("", ascii_address(identity.reply_to))])
        raw = set_field(raw, "Reply-To", value)
    signer = identity.signer
    if signer is None:
        return raw
    try:
        return dkim_keys.sign(
            raw, selector=signer.selector, domain=signer.domain, private_pem=signer.key
        )
    except dkim_keys.DkimSigningError as exc:
        # An operator's key file that is no RSA key: the message is not lost, only unsigned.
        log.error("DKIM key for %s cannot sign, relay mail unsigned: %s", signer.domain, exc)
        return raw


def finish_relay_message(
    session: Session,
    *,
    actor: User,
    built: mime.BuiltMessage,
    box: SecretBox,
    settings: Settings,
    reply_to_given: bool,
) -> mime.BuiltMessage:
    """The relay message as it is to be stored and sent: From settled, DKIM-signed."""
    identity = identity_for(
        session, actor=actor, box=box, settings=settings, reply_to_given=reply_to_given
    )
    raw = apply_identity(built.raw, identity)
    log.info(
        "relay message prepared",
        extra={
            "company_id": actor.company_id,
            "from_domain": domain_of(identity.from_address),
            "signed_for": identity.signer.domain if identity.signer else None,
            "reply_to_kept": get_field(raw, "Reply-To") is not None,
        },
    )
    return dataclasses.replace(built, raw=raw)
