"""What the sender-domain check found: SPF, DKIM and DMARC, each ok, warning or failing."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class CheckName(StrEnum):
    SPF = "spf"
    DKIM = "dkim"
    DMARC = "dmarc"


class CheckStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"  # shown, never blocks saving: mail may still arrive, or land in spam
    FAILING = "failing"  # receivers that follow the domain's policy will refuse or junk mail


_SEVERITY = {CheckStatus.OK: 0, CheckStatus.WARNING: 1, CheckStatus.FAILING: 2}


def worst(statuses: list[CheckStatus]) -> CheckStatus:
    return max(statuses, key=_SEVERITY.__getitem__, default=CheckStatus.OK)


@dataclass(frozen=True)
class DnsRecord:
    """A record to publish in the domain's DNS zone, exactly as the operator types it."""

    name: str
    value: str
    type: str = "TXT"

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "value": self.value}


@dataclass(frozen=True)
class DomainCheck:
    """One check: its verdict, the record found (as published) and what to do about it.

    `result` is the check's own word (SPF: pass/fail/softfail/…, DMARC: the policy, DKIM:
    found/missing/different); `code` names the explanation, whose words are in
    `explanation` by language ("en", "pl").
    """

    name: CheckName
    status: CheckStatus
    result: str
    looked_up: str  # the DNS name asked: "firma.pl", "_dmarc.firma.pl", "s._domainkey.firma.pl"
    record_found: str | None
    code: str
    explanation: dict[str, str]
    record_to_add: DnsRecord | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name.value,
            "status": self.status.value,
            "result": self.result,
            "looked_up": self.looked_up,
            "record_found": self.record_found,
            "code": self.code,
            "explanation": dict(self.explanation),
            "record_to_add": self.record_to_add.as_dict() if self.record_to_add else None,
        }


@dataclass(frozen=True)
class SenderDomainReport:
    """The checks of one sending address: whether its mail will pass SPF, DKIM and DMARC."""

    address: str
    domain: str
    server: str | None  # the SMTP server whose addresses SPF was evaluated for
    server_addresses: tuple[str, ...]
    checks: tuple[DomainCheck, ...]
    status: CheckStatus = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", worst([c.status for c in self.checks]))

    def check(self, name: CheckName) -> DomainCheck:
        return next(c for c in self.checks if c.name is name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "domain": self.domain,
            "server": self.server,
            "server_addresses": list(self.server_addresses),
            "status": self.status.value,
            "checks": [c.as_dict() for c in self.checks],
        }
