"""The company's sender domains for the platform relay: add, publish the DKIM record, verify."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from postroom.api.deps import CallerDep
from postroom.api.schemas_deliverability import DnsRecordPublic, SenderDomainReportPublic
from postroom.services import sender_domains

router = APIRouter(tags=["sender domains"])


class DomainCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str = Field(
        min_length=1, max_length=300, description="The part of the address after the @."
    )


class SenderDomainPublic(BaseModel):
    id: int
    domain: str = Field(description="Lower case; a domain with Polish letters in xn-- form.")
    selector: str
    verified: bool = Field(
        description="Our key is published: relay mail from the domain keeps its From and is "
        "signed with DKIM. Until then it goes out as '<company> via <platform>'."
    )
    verified_at: datetime | None
    last_checked_at: datetime | None
    dns_record: DnsRecordPublic = Field(
        description="The TXT record to publish, at <selector>._domainkey.<domain>."
    )
    last_check: SenderDomainReportPublic | None = Field(
        description="What the last verification found: DKIM and DMARC, each ok, warning or "
        "failing, the record found, the explanation in English and Polish."
    )
    created_at: datetime


class SenderDomainsPublic(BaseModel):
    items: list[SenderDomainPublic]


def _public(row: Any) -> SenderDomainPublic:
    return SenderDomainPublic.model_validate(sender_domains.public_view(row))


@router.post(
    "/company/domains", status_code=status.HTTP_201_CREATED, response_model=SenderDomainPublic
)
def add_domain(body: DomainCreate, caller: CallerDep) -> SenderDomainPublic:
    """Add a domain (administrators): a 2048-bit DKIM key is made for it; publish
    `dns_record`, then verify. 409 `domain_exists` when the company has it already."""
    with caller.begin() as tx:
        row = sender_domains.add_domain(
            tx.session,
            actor=tx.actor,
            domain=body.domain,
            box=caller.runtime.secret_box,
            selector=caller.runtime.settings.dkim_selector,
        )
        tx.session.flush()
        return _public(row)


@router.get("/company/domains", response_model=SenderDomainsPublic)
def list_domains(caller: CallerDep) -> SenderDomainsPublic:
    """The company's sender domains, verified or not."""
    with caller.begin() as tx:
        return SenderDomainsPublic(
            items=[_public(row) for row in sender_domains.list_domains(tx.session)]
        )


@router.get("/company/domains/{domain_id}", response_model=SenderDomainPublic)
def get_domain(domain_id: int, caller: CallerDep) -> SenderDomainPublic:
    with caller.begin() as tx:
        return _public(sender_domains.get_domain(tx.session, domain_id))


@router.post("/company/domains/{domain_id}/verify", response_model=SenderDomainPublic)
def verify_domain(domain_id: int, caller: CallerDep) -> SenderDomainPublic:
    """Look the DKIM record up in DNS now (administrators). `verified` says whether our key
    is published; `last_check` says what was found and what to publish."""
    result = sender_domains.verify_domain(caller.begin, caller.runtime, domain_id=domain_id)
    return SenderDomainPublic.model_validate(result.domain)


@router.delete("/company/domains/{domain_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_domain(domain_id: int, caller: CallerDep) -> Response:
    """Remove a domain and its key (administrators); its relay mail is rewritten again."""
    with caller.begin() as tx:
        sender_domains.delete_domain(tx.session, actor=tx.actor, domain_id=domain_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
