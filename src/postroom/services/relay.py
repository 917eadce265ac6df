"""The platform relay (B5, B6): who may send through it, what is left of its limit, where it is."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.models import Company
from postroom.db.models_outbox import OutboxMessage
from postroom.enums import (
    DOCUMENT_CATEGORIES,
    AuthMethod,
    DocumentCategory,
    DocumentKind,
    EmailMode,
    MessageStatus,
    Security,
)
from postroom.errors import RefusalReason, SendingRefusedError
from postroom.mail.connect import Endpoint, NetworkOptions
from postroom.mail.credentials import Credentials
from postroom.mail.netguard import NetworkPolicy
from postroom.secrets import Secret

# Seed 000 (wFirma): without its own SMTP, an unverified company may not send documents made
# from its own templates nor HR documents; standard documents and plain messages may go.
NEEDS_VERIFICATION = frozenset({DocumentCategory.OWN_TEMPLATE, DocumentCategory.HR})
# The kinds that are documents and so count towards the relay's limit.
DOCUMENT_KINDS = tuple(
    kind for kind, category in DOCUMENT_CATEGORIES.items() if category is not DocumentCategory.NONE
)
# A message that failed permanently reached nobody, so it does not use up the limit; every other
# status does, queued ones included, or a burst of sends could all pass the check before any
# of them is delivered.
NOT_COUNTED = (MessageStatus.FAILED,)
# The operator, not a user, chose the relay's host: it may well be on the LAN or on loopback,
# so the guard against internal addresses (mail/netguard.py) lets it through.
_ANYWHERE = NetworkPolicy(allowed=(ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")))


@dataclass(frozen=True)
class RelayQuota:
    """How much a company may still send through the relay, and what (GET /company/relay)."""

    email_mode: EmailMode
    configured: bool  # this installation has a relay (POSTROOM_RELAY_HOST)
    verified: bool
    limit: int
    company_limit: bool  # the company's own limit, not the platform-wide default
    used: int

    @property
    def available(self) -> bool:
        return self.email_mode is EmailMode.RELAY and self.configured

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def allows(self, category: DocumentCategory) -> bool:
        """Whether one more message of `category` would go through the relay now."""
        if not self.available:
            return False
        if category is DocumentCategory.NONE:
            return True
        if category in NEEDS_VERIFICATION and not self.verified:
            return False
        return self.remaining > 0


@dataclass(frozen=True)
class RelayTarget:
    """What the delivery worker needs to hand relay mail to the operator's smarthost."""

    endpoint: Endpoint
    credentials: Credentials  # method NONE when the relay takes mail without a login
    envelope_from: str  # MAIL FROM, and the From address of relay mail
    network: NetworkOptions


def effective_category(kind: DocumentKind, from_own_template: bool) -> DocumentCategory:
    """A message made from the company's own template counts as such, whatever its kind,
    except that HR stays HR (both need verification anyway)."""
    category = DOCUMENT_CATEGORIES[kind]
    if from_own_template and category is not DocumentCategory.HR:
        return DocumentCategory.OWN_TEMPLATE
    return category


def relay_configured(settings: Settings) -> bool:
    return bool(settings.relay_host)


def document_limit(company: Company, settings: Settings) -> int:
    """The company's own limit if the platform set one, else POSTROOM_RELAY_DOCUMENT_LIMIT."""
    if company.relay_document_limit is not None:
        return company.relay_document_limit
    return settings.relay_document_limit


def documents_sent(session: Session, company: Company) -> int:
    """Documents the company has sent (or queued) through the relay, ever: the limit of seed 000
    is a total, not a monthly allowance."""
    query = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.company_id == company.id,
            OutboxMessage.via_relay.is_(True),
            OutboxMessage.status.not_in(NOT_COUNTED),
            or_(
                OutboxMessage.document_kind.in_(DOCUMENT_KINDS),
                OutboxMessage.from_own_template.is_(True),
            ),
        )
    )
    return session.scalar(query) or 0


def relay_quota(session: Session, company: Company, settings: Settings) -> RelayQuota:
    return RelayQuota(
        email_mode=company.email_mode,
        configured=relay_configured(settings),
        verified=company.verified,
        limit=document_limit(company, settings),
        company_limit=company.relay_document_limit is not None,
        used=documents_sent(session, company),
    )


def check_relay(
    session: Session,
    *,
    company: Company,
    settings: Settings,
    document_kind: DocumentKind = DocumentKind.OTHER,
    from_own_template: bool = False,
) -> None:
    """Raise SendingRefusedError unless this message may go through the relay now.

    For a document, the company's row stays locked until the transaction ends, so two sends
    at once cannot both take the last document: insert the outbox row in the same transaction.
    """
    if company.email_mode is not EmailMode.RELAY:
        raise mode_refusal(company)
    if not relay_configured(settings):
        raise _not_configured()
    category = effective_category(document_kind, from_own_template)
    if category in NEEDS_VERIFICATION and not company.verified:
        raise _needs_verification(company, document_kind, category)
    if category is DocumentCategory.NONE:
        return
    _lock_company(session, company)
    used, limit = documents_sent(session, company), document_limit(company, settings)
    if used >= limit:
        raise SendingRefusedError(
            RefusalReason.RELAY_LIMIT_REACHED,
            f"{company.name} has reached its limit of {limit} documents through the platform "
            f"relay ({used} sent or queued), the limit for companies without their own mail "
            "server. Connect your own mailbox (SMTP) to send documents without a limit, or "
            "ask the platform operator to raise the company's limit. Plain messages can still "
            "be sent.",
        )


def _lock_company(session: Session, company: Company) -> None:
    """Hold the company's row until the transaction ends, before counting.

    A write that changes nothing, not SELECT … FOR UPDATE: SQLite ignores FOR UPDATE, and the
    sqlite3 module runs SELECTs outside the transaction, so a count could not see a send
    committed meanwhile. The write takes SQLite's write lock (waiting for the other writer,
    then reading afresh) and a row lock on PostgreSQL, after which the count is current.
    """
    session.execute(
        update(Company)
        .where(Company.id == company.id)
        .values(relay_document_limit=Company.relay_document_limit)
        .execution_options(synchronize_session=False)
    )


def mode_refusal(company: Company) -> SendingRefusedError:
    """Why the relay may not be used in the company's e-mail mode (which is not RELAY)."""
    if company.email_mode is EmailMode.OFF:
        return SendingRefusedError(
            RefusalReason.EMAIL_OFF,
            f"E-mail is off for {company.name}: nothing can be sent until a company "
            "administrator turns it on, choosing the platform relay or the company's own mail "
            'servers (company settings, or PATCH /api/v1/company with {"email_mode": "relay"} '
            'or {"email_mode": "own"}).',
        )
    return SendingRefusedError(
        RefusalReason.RELAY_NOT_ALLOWED,
        f'{company.name} sends through its own mail servers (e-mail mode "own"), never '
        "through the platform relay. Send from one of your accounts, or ask an administrator "
        'to switch the company to the platform relay (e-mail mode "relay").',
    )


def _needs_verification(
    company: Company, kind: DocumentKind, category: DocumentCategory
) -> SendingRefusedError:
    what = (
        f"HR documents ({kind.value.replace('_', ' ')})"
        if category is DocumentCategory.HR
        else "documents made from the company's own templates"
    )
    return SendingRefusedError(
        RefusalReason.RELAY_REQUIRES_VERIFICATION,
        f"{company.name} is not verified, so {what} cannot go through the platform relay. "
        "Ask the platform to verify the company, or connect your own mailbox (SMTP): from "
        "your own server every kind of document may be sent, without a limit.",
    )


def _not_configured() -> SendingRefusedError:
    return SendingRefusedError(
        RefusalReason.RELAY_NOT_CONFIGURED,
        "This Postroom installation has no platform relay (the operator has not set "
        "POSTROOM_RELAY_HOST), so mail can go only from a connected mailbox. Connect your "
        "own mailbox (SMTP), or ask an administrator for access to a company account.",
    )


def relay_address(settings: Settings) -> str:
    """The From and envelope address of relay mail (POSTROOM_RELAY_FROM_ADDRESS)."""
    if not settings.relay_host or not settings.relay_from_address:
        raise _not_configured()
    return settings.relay_from_address


def relay_target(settings: Settings) -> RelayTarget:
    """The smarthost from configuration; raises SendingRefusedError when there is none."""
    address = relay_address(settings)
    assert settings.relay_host is not None  # checked by relay_address
    password = settings.relay_password
    credentials = (
        Credentials(
            AuthMethod.PASSWORD, settings.relay_username, Secret(password.get_secret_value())
        )
        if settings.relay_username and password is not None
        else Credentials(AuthMethod.NONE)
    )
    return RelayTarget(
        endpoint=Endpoint(
            settings.relay_host, settings.relay_port, Security(settings.relay_security)
        ),
        credentials=credentials,
        envelope_from=address,
        network=NetworkOptions(policy=_ANYWHERE, extra_ca_file=settings.extra_ca_file),
    )
