"""A company's own domains for the platform relay: a DKIM key each, its TXT record, verification."""

# A company verifies a domain by publishing the TXT record of the key made for it; from then on
# relay mail from that domain keeps its own From and is signed with that key (relay_identity).
# The private key is made here, stored only encrypted, and never leaves the services layer.

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import User
from postroom.db.models_domains import SenderDomain
from postroom.errors import ValidationError
from postroom.mail import dkim_keys
from postroom.mail.dmarc_report import CheckName, CheckStatus, DnsRecord, SenderDomainReport
from postroom.secrets import Secret, SecretBox
from postroom.services import deliverability
from postroom.services.account_setup import Begin
from postroom.services.guards import add_unique, get_or_404, require_admin
from postroom.services.runtime import Runtime

log = logging.getLogger("postroom.sender_domains")

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_MAX_DOMAIN = 253


@dataclass(frozen=True)
class DomainVerification:
    domain: dict[str, Any]  # public_view() of the row as saved
    report: SenderDomainReport | None  # None: this machine has no DNS to ask
    verified: bool


def normalize_domain(value: str) -> str:
    """The domain as stored and signed for: lower case, IDNA A-labels (xn--), no final dot.

    Raises ValidationError naming the field `domain`.
    """
    text = value.strip().rstrip(".").lower()
    if text.startswith("@") or "@" in text:
        text = text.rpartition("@")[2]
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise _invalid(value) from exc
    labels = ascii_name.split(".")
    if len(ascii_name) > _MAX_DOMAIN or len(labels) < 2 or not all(map(_LABEL.match, labels)):
        raise _invalid(value)
    return ascii_name


def _invalid(value: str) -> ValidationError:
    return ValidationError.for_field(
        "domain",
        f"{value!r} is not a domain name; give the part of your address after the @, "
        "e.g. biuro-kowalski.pl.",
        "invalid_domain",
    )


def record_to_publish(row: SenderDomain) -> DnsRecord:
    """The TXT record the company publishes: its name and value, exactly as to type them."""
    return DnsRecord(
        dkim_keys.record_name(row.dkim_selector, row.domain),
        dkim_keys.record_value(row.dkim_public_key),
    )


def add_domain(
    session: Session, *, actor: User, domain: str, box: SecretBox, selector: str
) -> SenderDomain:
    """A new domain with its own 2048-bit key pair, not verified yet (administrators)."""
    require_admin(actor, "add sender domains")
    name = normalize_domain(domain)
    pair = dkim_keys.generate_key_pair()
    row = SenderDomain(
        domain=name,
        dkim_selector=selector,
        dkim_private_key_encrypted=box.encrypt(pair.private_pem),
        dkim_public_key=pair.public_key,
    )
    add_unique(
        session,
        row,
        f"{name} is already one of the company's sender domains.",
        "domain_exists",
    )
    log.info("sender domain added", extra={"company_id": actor.company_id, "domain": name})
    return row


def list_domains(session: Session) -> list[SenderDomain]:
    return list(session.scalars(select(SenderDomain).order_by(SenderDomain.domain)))


def get_domain(session: Session, domain_id: int) -> SenderDomain:
    return get_or_404(session, SenderDomain, domain_id, "Sender domain")


def delete_domain(session: Session, *, actor: User, domain_id: int) -> None:
    """Relay mail from the domain goes out rewritten again from the next message on."""
    require_admin(actor, "remove sender domains")
    session.delete(get_domain(session, domain_id))


def _record(row: SenderDomain, report: SenderDomainReport | None) -> bool:
    """Keep what the check found; verified while our key is published, unverified when not."""
    row.last_checked_at = utcnow()
    if report is None:
        return row.verified_at is not None
    row.last_check = report.as_dict()
    published = report.check(CheckName.DKIM).status is CheckStatus.OK
    if published and row.verified_at is None:
        row.verified_at = row.last_checked_at
    elif not published and report.check(CheckName.DKIM).result != "temperror":
        # The record was removed or replaced: signing would make mail that fails DKIM.
        row.verified_at = None
    return row.verified_at is not None


def verify_domain(begin: Begin, runtime: Runtime, *, domain_id: int) -> DomainVerification:
    """Look the key up in DNS now (no transaction open meanwhile) and record the outcome."""
    with begin() as tx:
        require_admin(tx.actor, "verify sender domains")
        row = get_domain(tx.session, domain_id)
        name, selector, public_key = row.domain, row.dkim_selector, row.dkim_public_key
    report = deliverability.check_relay_domain(
        runtime.settings, domain=name, selector=selector, public_key=public_key
    )
    with begin() as tx:
        row = get_domain(tx.session, domain_id)
        verified = _record(row, report)
        log.info(
            "sender domain checked",
            extra={"company_id": tx.actor.company_id, "domain": name, "verified": verified},
        )
        return DomainVerification(public_view(row), report, verified)


def verified_domain(session: Session, domain: str) -> SenderDomain | None:
    """The company's verified row for `domain` (the session's company), if there is one."""
    return session.scalar(
        select(SenderDomain).where(
            SenderDomain.domain == domain.lower(), SenderDomain.verified_at.is_not(None)
        )
    )


def private_key(row: SenderDomain, box: SecretBox) -> Secret:
    return box.decrypt(row.dkim_private_key_encrypted)


def public_view(row: SenderDomain) -> dict[str, Any]:
    """Everything the API and the pages show; the private key is not part of it."""
    record = record_to_publish(row)
    return {
        "id": row.id,
        "domain": row.domain,
        "selector": row.dkim_selector,
        "verified": row.verified_at is not None,
        "verified_at": row.verified_at,
        "last_checked_at": row.last_checked_at,
        "dns_record": record.as_dict(),
        "last_check": row.last_check,
        "created_at": row.created_at,
    }


def reencrypt_keys(runtime: Runtime) -> int:
    """Re-encrypt every stored DKIM key with the newest key (`postroom secrets rotate`)."""
    rotated = 0
    with runtime.platform() as session:
        for row in session.scalars(select(SenderDomain)):
            row.dkim_private_key_encrypted = runtime.secret_box.rotate(
                row.dkim_private_key_encrypted
            )
            rotated += 1
    return rotated
