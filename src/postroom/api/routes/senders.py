"""What the caller may send from (B1–B4), and what is left of the company's relay limit (B5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from postroom.api.deps import CallerDep
from postroom.enums import DocumentCategory, EmailMode
from postroom.services import relay, routing
from postroom.services.companies import get_company

router = APIRouter(tags=["sending"])

ProjectQuery = Annotated[
    int | None, Query(description="The project the message belongs to (B4); omit for none.")
]


class SenderPublic(BaseModel):
    account_id: int | None = Field(description="None for the platform relay.")
    address: str
    display_name: str
    kind: routing.SenderKind
    rule: routing.SenderRule
    owner_user_id: int | None
    needs_attention: bool
    default: bool = Field(description="Taken when the message names no account.")


class SendersPublic(BaseModel):
    email_mode: EmailMode
    items: list[SenderPublic]


class RelayQuotaPublic(BaseModel):
    email_mode: EmailMode
    relay_configured: bool = Field(description="This installation has a platform relay.")
    available: bool = Field(description='E-mail mode "relay" and a relay configured.')
    verified: bool
    limit: int = Field(description="Documents the company may send through the relay in all.")
    limit_source: str = Field(description='"company" (set by the platform) or "platform".')
    used: int = Field(description="Documents sent or queued through the relay; failed ones not.")
    remaining: int
    allowed: dict[DocumentCategory, bool] = Field(
        description="Whether one more message of each category may go through the relay now."
    )


@router.get("/senders", response_model=SendersPublic)
def list_senders(caller: CallerDep, project_id: ProjectQuery = None) -> SendersPublic:
    """Accounts the caller may send from, best first, and the platform relay last when allowed.

    Another company's project answers 404; with e-mail off, 403 `email_off`.
    """
    with caller.begin() as tx:
        options = routing.list_senders(
            tx.session, actor=tx.actor, project_id=project_id, settings=caller.runtime.settings
        )
        company = get_company(tx.session, tx.actor.company_id)
        return SendersPublic(
            email_mode=company.email_mode,
            items=[SenderPublic.model_validate(option, from_attributes=True) for option in options],
        )


@router.get("/company/relay", response_model=RelayQuotaPublic)
def relay_quota(caller: CallerDep) -> RelayQuotaPublic:
    """The company's use of the platform relay: documents used of its limit, what may go."""
    with caller.begin() as tx:
        company = get_company(tx.session, tx.actor.company_id)
        quota = relay.relay_quota(tx.session, company, caller.runtime.settings)
        return RelayQuotaPublic(
            email_mode=quota.email_mode,
            relay_configured=quota.configured,
            available=quota.available,
            verified=quota.verified,
            limit=quota.limit,
            limit_source="company" if quota.company_limit else "platform",
            used=quota.used,
            remaining=quota.remaining,
            allowed={category: quota.allows(category) for category in DocumentCategory},
        )
