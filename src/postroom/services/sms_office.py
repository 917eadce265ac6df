"""The office's SMS switch (F2): on only after an administrator accepts the price list.

Turning SMS on records who accepted which price list, when, at what price per part
(SmsCostAcceptance, kept for good as the record of consent to be charged); turning it off
stamps that record revoked. The price list comes from the installation's settings; when the
operator publishes a new one, the old acceptance still stands but is shown as not current.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.base import utcnow
from postroom.db.models import User
from postroom.db.models_channels import OfficeSettings, SmsCostAcceptance
from postroom.errors import ConflictError, ValidationError
from postroom.notify.sms.segments import (
    SegmentCount,
    count_segments,
    has_polish_letters,
    transliterate_polish,
)
from postroom.services.guards import require_admin

# An alphanumeric sender ID (TS 23.040 §9.1.2.5: at most 11 characters); providers accept
# letters, digits and spaces, and need at least one letter (else it reads as a number).
_SENDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .\-]{0,10}$")
MAX_SMS_CHARACTERS = 1600  # Twilio's limit of one message body; SMSAPI's is lower in parts


@dataclass(frozen=True)
class PriceList:
    name: str
    price_per_segment: Decimal
    currency: str


@dataclass(frozen=True)
class SmsOfficeState:
    enabled: bool
    provider: str  # "none", "smsapi", "twilio"
    sender_name: str | None
    price_list: PriceList  # the installation's current one
    acceptance: SmsCostAcceptance | None  # the latest, active or revoked
    acceptance_current: bool  # enabled under the current price list


@dataclass(frozen=True)
class SmsEstimate:
    text: str
    count: SegmentCount
    cost: Decimal
    currency: str


def current_price_list(settings: Settings) -> PriceList:
    return PriceList(settings.sms_price_list, settings.sms_price_per_segment, settings.sms_currency)


def _office(session: Session) -> OfficeSettings | None:
    return session.scalars(select(OfficeSettings)).first()


def _office_for_change(session: Session) -> OfficeSettings:
    """The office's row, made on first change; two first changes at once make one row (the
    unique company_id refuses the second, which then takes the first's)."""
    office = _office(session)
    if office is not None:
        return office
    try:
        with session.begin_nested():
            office = OfficeSettings(sms_enabled=False)
            session.add(office)
    except IntegrityError:
        office = _office(session)
        if office is None:
            raise
    return office


def _latest_acceptance(session: Session) -> SmsCostAcceptance | None:
    return session.scalars(
        select(SmsCostAcceptance).order_by(SmsCostAcceptance.id.desc()).limit(1)
    ).first()


def sms_enabled(session: Session) -> bool:
    """Whether the session's company may send SMS (the cost gate of F2)."""
    office = _office(session)
    return bool(office is not None and office.sms_enabled)


def sms_state(session: Session, *, settings: Settings) -> SmsOfficeState:
    office = _office(session)
    enabled = bool(office is not None and office.sms_enabled)
    acceptance = _latest_acceptance(session)
    current = current_price_list(settings)
    return SmsOfficeState(
        enabled=enabled,
        provider=settings.sms_provider,
        sender_name=office.sms_sender_name if office is not None else None,
        price_list=current,
        acceptance=acceptance,
        acceptance_current=bool(
            enabled
            and acceptance is not None
            and acceptance.revoked_at is None
            and acceptance.price_list == current.name
        ),
    )


def enable_sms(
    session: Session, *, actor: User, settings: Settings, accept_price_list: str | None
) -> SmsOfficeState:
    """Turn SMS on, accepting the current price list by name (the name shown to the person)."""
    require_admin(actor, "turn SMS on")
    if settings.sms_provider == "none":
        raise ConflictError(
            "This installation has no SMS provider; its operator sets POSTROOM_SMS_PROVIDER.",
            code="sms_not_configured",
        )
    price_list = current_price_list(settings)
    if not accept_price_list:
        raise ValidationError.for_field(
            "accept_price_list",
            f"Turning SMS on needs accepting its cost: send accept_price_list: "
            f'"{price_list.name}" ({price_list.price_per_segment} {price_list.currency} '
            "per SMS part).",
            "price_list_not_accepted",
        )
    if accept_price_list != price_list.name:
        raise ConflictError(
            f'The price list "{accept_price_list}" is not the current one; the current one is '
            f'"{price_list.name}" ({price_list.price_per_segment} {price_list.currency} per SMS '
            "part). Read it and accept that one.",
            code="price_list_mismatch",
        )
    office = _office_for_change(session)
    state = sms_state(session, settings=settings)
    if state.acceptance_current:
        return state  # already on under this price list: nothing new to consent to
    _revoke_active(session, actor)
    session.add(
        SmsCostAcceptance(
            accepted_by_user_id=actor.id,
            accepted_at=utcnow(),
            price_list=price_list.name,
            price_per_segment=price_list.price_per_segment,
            currency=price_list.currency,
        )
    )
    office.sms_enabled = True
    session.flush()
    return sms_state(session, settings=settings)


def _revoke_active(session: Session, actor: User) -> None:
    active = session.scalars(
        select(SmsCostAcceptance).where(SmsCostAcceptance.revoked_at.is_(None))
    ).all()
    for acceptance in active:
        acceptance.revoked_at = utcnow()
        acceptance.revoked_by_user_id = actor.id


def disable_sms(session: Session, *, actor: User, settings: Settings) -> SmsOfficeState:
    """Turn SMS off: nothing more is queued; what is queued already still goes out."""
    require_admin(actor, "turn SMS off")
    office = _office_for_change(session)
    office.sms_enabled = False
    _revoke_active(session, actor)
    session.flush()
    return sms_state(session, settings=settings)


def set_sender_name(
    session: Session, *, actor: User, settings: Settings, sender_name: str | None
) -> SmsOfficeState:
    """The alphanumeric sender SMS show (registered with the provider); None: its default."""
    require_admin(actor, "change the SMS sender name")
    name = (sender_name or "").strip() or None
    if name is not None and (not _SENDER_NAME.match(name) or not any(c.isalpha() for c in name)):
        raise ValidationError.for_field(
            "sender_name",
            "A sender name has 1 to 11 characters: Latin letters (at least one), digits, "
            "spaces, dots or hyphens, e.g. BiuroAlfa; register it with the SMS provider first.",
            "invalid_sender_name",
        )
    office = _office_for_change(session)
    office.sms_sender_name = name
    session.flush()
    return sms_state(session, settings=settings)


def _estimate_one(text: str, settings: Settings) -> SmsEstimate:
    count = count_segments(text)
    cost = (settings.sms_price_per_segment * count.segments).quantize(Decimal("0.0001"))
    return SmsEstimate(text=text, count=count, cost=cost, currency=settings.sms_currency)


def estimate(text: str, *, settings: Settings) -> tuple[SmsEstimate, SmsEstimate | None]:
    """What `text` costs as written, and without Polish diacritics (None when it has none):
    the choice a person makes before sending."""
    if len(text) > MAX_SMS_CHARACTERS:
        raise ValidationError.for_field(
            "text",
            f"An SMS may have at most {MAX_SMS_CHARACTERS} characters; shorten the text.",
            "sms_too_long",
        )
    as_written = _estimate_one(text, settings)
    if not has_polish_letters(text):
        return as_written, None
    return as_written, _estimate_one(transliterate_polish(text), settings)
