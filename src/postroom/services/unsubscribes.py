"""Leaving a company's newsletters (RFC 8058 one-click, or the page behind the link): the
recipient's token names one campaign row, and it unsubscribes that row's address only."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postroom.db.models import Company
from postroom.db.models_campaigns import Campaign, CampaignRecipient, Unsubscribe
from postroom.services.runtime import Runtime

# token_urlsafe(32) gives 43 characters; anything else cannot be a token and is not looked up.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class Source:
    ONE_CLICK = "one-click"  # a mail client's POST "List-Unsubscribe=One-Click" (RFC 8058)
    LINK = "link"  # the confirm button of the page


@dataclass(frozen=True)
class TokenOwner:
    """Whose link it is: the row, its campaign and company (read across companies once)."""

    company_id: int
    campaign_id: int
    recipient_id: int


@dataclass(frozen=True)
class UnsubscribePage:
    company_name: str
    email: str
    already: bool


def owner_of(runtime: Runtime, token: str) -> TokenOwner | None:
    """The row a public token belongs to, or None; the only query that spans companies,
    and it answers for exactly one row."""
    if not _TOKEN.match(token):
        return None
    with runtime.platform() as session:
        found = session.execute(
            select(
                CampaignRecipient.company_id, CampaignRecipient.campaign_id, CampaignRecipient.id
            ).where(CampaignRecipient.token == token)
        ).first()
    return TokenOwner(*found) if found is not None else None


def _recipient(session: Session, owner: TokenOwner) -> CampaignRecipient:
    row = session.get(CampaignRecipient, owner.recipient_id)
    assert row is not None  # found by its token a moment ago; rows are deleted with campaigns
    return row


def is_unsubscribed(session: Session, email: str) -> bool:
    found = session.scalar(select(Unsubscribe.id).where(Unsubscribe.email == email.lower()))
    return found is not None


def page(session: Session, owner: TokenOwner) -> UnsubscribePage:
    """What the confirm page says (in the row's company session)."""
    recipient = _recipient(session, owner)
    company = session.get(Company, owner.company_id)
    assert company is not None
    return UnsubscribePage(company.name, recipient.email, is_unsubscribed(session, recipient.email))


def unsubscribe(session: Session, owner: TokenOwner, source: str) -> bool:
    """Record that the row's address left the company's newsletters; False if it already had.
    Later newsletters skip it (opted out); documents such as invoices still go to it."""
    recipient = _recipient(session, owner)
    email = recipient.email.lower()
    if is_unsubscribed(session, email):
        return False
    try:
        with session.begin_nested():
            session.add(Unsubscribe(email=email, campaign_id=owner.campaign_id, source=source))
    except IntegrityError:
        return False  # a second click at the same moment: recorded by the first
    return True


def campaign_name(session: Session, owner: TokenOwner) -> str:
    campaign = session.get(Campaign, owner.campaign_id)
    return campaign.name if campaign is not None else ""
