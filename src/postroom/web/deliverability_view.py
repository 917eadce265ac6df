"""Sender-domain checks (SPF, DKIM, DMARC) as pages show them, in the visitor's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from postroom.mail.dmarc_report import CheckName, CheckStatus
from postroom.web.i18n import N_, Translator

CHECK_LABELS = {
    CheckName.SPF: N_("SPF: may this server send for the domain"),
    CheckName.DKIM: N_("DKIM: signature of the domain"),
    CheckName.DMARC: N_("DMARC: the domain's policy"),
}
STATUS_LABELS = {
    CheckStatus.OK: N_("OK"),
    CheckStatus.WARNING: N_("Warning"),
    CheckStatus.FAILING: N_("Failing"),
}
SUMMARIES = {
    CheckStatus.OK: N_("Mail from {address} should reach the inbox."),
    CheckStatus.WARNING: N_(
        "Mail from {address} may land in spam. The records below help; the account works "
        "without them."
    ),
    CheckStatus.FAILING: N_(
        "Mail from {address} will be rejected or put into spam by many receivers until the "
        "records below are published. This does not stop you from saving the account."
    ),
}
# A relay domain's report (sender_domains.verify) speaks of the domain, not of one address.
RELAY_SUMMARIES = {
    CheckStatus.OK: N_("Relay mail from {domain} is signed with DKIM and passes DMARC."),
    CheckStatus.WARNING: N_(
        "Relay mail from {domain} goes out from the platform's address until the records "
        "below are published."
    ),
}
TONES = {CheckStatus.OK: "ok", CheckStatus.WARNING: "warn", CheckStatus.FAILING: "bad"}


@dataclass(frozen=True)
class RecordView:
    name: str
    type: str
    value: str


@dataclass(frozen=True)
class CheckView:
    name: str  # spf, dkim, dmarc: for tests and CSS
    label: str
    status: str
    status_label: str
    tone: str
    result: str
    looked_up: str
    record_found: str | None
    explanation: str
    record_to_add: RecordView | None


@dataclass(frozen=True)
class SenderDomainView:
    status: str
    tone: str
    summary: str
    address: str
    domain: str
    checks: list[CheckView]


def _status(value: Any) -> CheckStatus:
    try:
        return CheckStatus(str(value))
    except ValueError:
        return CheckStatus.WARNING  # a status this version does not know: shown, not trusted


def _label(name: str, translate: Translator) -> str:
    try:
        return translate(CHECK_LABELS[CheckName(name)])
    except ValueError:
        return name.upper()


def check_view(check: Mapping[str, Any], translate: Translator) -> CheckView:
    status = _status(check.get("status"))
    explanations = check.get("explanation") or {}
    record = check.get("record_to_add")
    return CheckView(
        name=str(check.get("name", "")),
        label=_label(str(check.get("name", "")), translate),
        status=status.value,
        status_label=translate(STATUS_LABELS[status]),
        tone=TONES[status],
        result=str(check.get("result", "")),
        looked_up=str(check.get("looked_up", "")),
        record_found=check.get("record_found"),
        explanation=str(explanations.get(translate.language.value) or explanations.get("en", "")),
        record_to_add=RecordView(record["name"], record["type"], record["value"])
        if record
        else None,
    )


def sender_domain_view(
    report: Mapping[str, Any] | None, translate: Translator
) -> SenderDomainView | None:
    """A SenderDomainReport.as_dict() (also as stored with the account's last test)."""
    if not report or not report.get("checks"):
        return None
    status = _status(report.get("status"))
    address, domain = str(report.get("address", "")), str(report.get("domain", ""))
    if address.startswith("@"):
        relay = RELAY_SUMMARIES.get(status, RELAY_SUMMARIES[CheckStatus.WARNING])
        summary = translate(relay, domain=domain)
    else:
        summary = translate(SUMMARIES[status], address=address)
    return SenderDomainView(
        status=status.value,
        tone=TONES[status],
        summary=summary,
        address=address,
        domain=domain,
        checks=[check_view(c, translate) for c in report["checks"]],
    )
