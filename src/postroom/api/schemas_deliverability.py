"""Sender-domain checks as the API shows them (issue 9): SPF, DKIM, DMARC with what to publish."""

from __future__ import annotations

from pydantic import BaseModel, Field

from postroom.mail.dmarc_report import CheckName, CheckStatus


class DnsRecordPublic(BaseModel):
    name: str = Field(description="The DNS name to publish it at.")
    type: str
    value: str = Field(description="The value exactly; DNS panels split long TXT values.")


class Explanation(BaseModel):
    en: str
    pl: str


class DomainCheckPublic(BaseModel):
    name: CheckName
    status: CheckStatus = Field(description="ok, warning (shown, never blocks), or failing.")
    result: str = Field(
        description="SPF: pass, fail, softfail, neutral, none, permerror, temperror. DMARC: the "
        "policy (none, quarantine, reject) or missing. DKIM: found, not_found, provider, "
        "published, missing, different."
    )
    looked_up: str = Field(description="The DNS name asked.")
    record_found: str | None = Field(description="The record as published.")
    code: str = Field(description="Names the explanation; stable.")
    explanation: Explanation = Field(description="What it means for the mail, in plain words.")
    record_to_add: DnsRecordPublic | None = Field(description="What to publish to fix it.")


class SenderDomainReportPublic(BaseModel):
    address: str
    domain: str
    server: str | None = Field(description="The SMTP server SPF was evaluated for.")
    server_addresses: list[str]
    status: CheckStatus = Field(description="The worst of the checks.")
    checks: list[DomainCheckPublic]
