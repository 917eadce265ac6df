"""Bodies of the office's SMS settings, cost estimates and SMS messages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from postroom.db.models import User
from postroom.db.models_channels import SmsCostAcceptance
from postroom.enums import SmsStatus
from postroom.services.sms_office import SmsEstimate, SmsOfficeState


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceListPublic(BaseModel):
    name: str
    price_per_segment: Decimal
    currency: str


class UserRef(BaseModel):
    id: int
    email: str
    name: str


class SmsAcceptancePublic(BaseModel):
    """Who accepted which price list when (and who turned SMS off, when)."""

    accepted_by: UserRef | None
    accepted_at: datetime
    price_list: str
    price_per_segment: Decimal
    currency: str
    revoked_by: UserRef | None
    revoked_at: datetime | None


class SmsOfficePublic(BaseModel):
    enabled: bool
    provider: str
    sender_name: str | None
    price_list: PriceListPublic
    acceptance: SmsAcceptancePublic | None
    acceptance_current: bool

    @classmethod
    def build(cls, state: SmsOfficeState, users: dict[int, User]) -> SmsOfficePublic:
        return cls(
            enabled=state.enabled,
            provider=state.provider,
            sender_name=state.sender_name,
            price_list=PriceListPublic(
                name=state.price_list.name,
                price_per_segment=state.price_list.price_per_segment,
                currency=state.price_list.currency,
            ),
            acceptance=_acceptance(state.acceptance, users),
            acceptance_current=state.acceptance_current,
        )


def _ref(user_id: int | None, users: dict[int, User]) -> UserRef | None:
    user = users.get(user_id) if user_id is not None else None
    return UserRef(id=user.id, email=user.email, name=user.name) if user is not None else None


def _acceptance(
    row: SmsCostAcceptance | None, users: dict[int, User]
) -> SmsAcceptancePublic | None:
    if row is None:
        return None
    return SmsAcceptancePublic(
        accepted_by=_ref(row.accepted_by_user_id, users),
        accepted_at=row.accepted_at,
        price_list=row.price_list,
        price_per_segment=row.price_per_segment,
        currency=row.currency,
        revoked_by=_ref(row.revoked_by_user_id, users),
        revoked_at=row.revoked_at,
    )


SenderName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=11)]


class SmsOfficeUpdate(_Strict):
    """`enabled: true` needs `accept_price_list` naming the current price list (GET shows it);
    `sender_name: null` goes back to the provider's default sender."""

    enabled: bool | None = None
    accept_price_list: Annotated[str, StringConstraints(max_length=100)] | None = None
    sender_name: SenderName | None = None


class SmsEstimateRequest(_Strict):
    text: Annotated[str, StringConstraints(max_length=5000)]


class SmsCostPublic(BaseModel):
    text: str
    encoding: str  # "gsm7" or "ucs2"
    segments: int
    characters: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    units_per_segment: int
    cost: Decimal
    currency: str

    @classmethod
    def build(cls, estimate: SmsEstimate) -> SmsCostPublic:
        count = estimate.count
        return cls(
            text=estimate.text,
            encoding=count.encoding.value,
            segments=count.segments,
            characters=count.characters,
            units=count.units,
            units_per_segment=count.units_per_segment,
            cost=estimate.cost,
            currency=estimate.currency,
        )


class SmsEstimatePublic(SmsCostPublic):
    """The text as written; `transliterated`: the same without Polish diacritics (null when
    it has none), usually GSM-7 and half the parts."""

    transliterated: SmsCostPublic | None


class SmsPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    client_id: int | None
    contact_id: int | None
    communication_id: int | None
    to_number: str
    sender_name: str | None
    body: str
    encoding: str
    segments: int
    cost_estimate: Decimal | None
    currency: str | None
    provider: str
    provider_message_id: str | None
    status: SmsStatus
    error: str | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    status_at: datetime | None
