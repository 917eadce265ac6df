"""Sender-domain checks (A6, B5): will mail from this address pass SPF, DKIM and DMARC?"""

# For an account: SPF evaluated for the addresses of its SMTP server (providers' submission
# and outgoing servers share the ranges their SPF includes, so the submission host stands in
# for the machines that finally hand the mail over), DKIM looked for under the selectors
# providers use, DMARC from `_dmarc.` with alignment worked out for MAIL FROM = the address.
# For a relay domain: the DKIM key Postroom signs with, and DMARC. Every result is a warning
# or worse, never an error: a check that cannot run says so and blocks nothing.

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

import dns.exception
import dns.resolver

from postroom.addresses import InvalidAddressError, ascii_address
from postroom.config import Settings
from postroom.mail import dkim_keys, dmarc_check, spf_check
from postroom.mail.dmarc_report import (
    CheckName,
    CheckStatus,
    DnsRecord,
    DomainCheck,
    SenderDomainReport,
)
from postroom.mail.spf_check import SpfOutcome, SpfResult
from postroom.services.deliverability_dns import addresses, resolver_for
from postroom.services.deliverability_texts import Finding, explain

log = logging.getLogger("postroom.deliverability")

# Selectors providers publish their customers' keys under (Google Workspace, Microsoft 365,
# cPanel/Plesk hosts, Zoho, Amazon SES-style k1/s1/s2, home.pl and OVH "mail"/"dkim").
COMMON_SELECTORS = ("google", "selector1", "selector2", "default", "dkim", "mail", "k1", "s1", "s2")

_SPF_STATUS = {
    SpfResult.PASS: CheckStatus.OK,
    SpfResult.NEUTRAL: CheckStatus.WARNING,
    SpfResult.NONE: CheckStatus.WARNING,
    SpfResult.TEMPERROR: CheckStatus.WARNING,
    SpfResult.SOFTFAIL: CheckStatus.WARNING,
    SpfResult.PERMERROR: CheckStatus.FAILING,
    SpfResult.FAIL: CheckStatus.FAILING,
}
_SPF_FINDING = {
    SpfResult.PASS: Finding.SPF_PASS,
    SpfResult.NEUTRAL: Finding.SPF_NEUTRAL,
    SpfResult.NONE: Finding.SPF_NONE,
    SpfResult.TEMPERROR: Finding.SPF_TEMPERROR,
    SpfResult.SOFTFAIL: Finding.SPF_SOFTFAIL,
    SpfResult.PERMERROR: Finding.SPF_PERMERROR,
    SpfResult.FAIL: Finding.SPF_FAIL,
}


class DkimEvidence(StrEnum):
    """How sure it is that mail carries a DKIM signature aligned with the From domain."""

    SIGNED = "signed"  # the provider's own domain, or Postroom's relay signing
    PROBABLE = "probable"  # a key is published; the provider may sign with it
    NONE = "none"


@dataclass(frozen=True)
class _Context:
    resolver: dns.resolver.Resolver
    address: str
    domain: str
    server: str
    server_addresses: list[str]
    timeout: float


def _domain_of(address: str) -> str:
    try:
        return ascii_address(address).rpartition("@")[2].lower()
    except InvalidAddressError:
        return address.rpartition("@")[2].lower()


def _include_domain(ctx: _Context) -> str | None:
    """The provider domain whose SPF record covers the server (the `include:` to suggest)."""
    if not ctx.server or ctx.server in ctx.server_addresses:
        return None  # an IP literal: only ip4:/ip6: can name it
    provider = dmarc_check.organizational_domain(ctx.server)
    if provider == ctx.domain or spf_check.published_record(ctx.resolver, provider) is None:
        return None
    outcome = spf_check.check_server(
        ctx.resolver,
        addresses=ctx.server_addresses,
        sender=f"postmaster@{provider}",
        helo=ctx.server,
        timeout=ctx.timeout,
    )
    return provider if outcome.result is SpfResult.PASS else None


def _spf(ctx: _Context) -> tuple[DomainCheck, SpfOutcome]:
    found = spf_check.published_record(ctx.resolver, ctx.domain)
    if not ctx.server_addresses:
        outcome = SpfOutcome(SpfResult.TEMPERROR, "", "no address")
        texts = explain(Finding.SPF_NO_SERVER, server=ctx.server, domain=ctx.domain)
        check = DomainCheck(
            CheckName.SPF,
            CheckStatus.WARNING,
            outcome.result.value,
            ctx.domain,
            found,
            Finding.SPF_NO_SERVER.value,
            texts,
        )
        return check, outcome
    outcome = spf_check.check_server(
        ctx.resolver,
        addresses=ctx.server_addresses,
        sender=ctx.address,
        helo=ctx.server,
        timeout=ctx.timeout,
    )
    finding = _SPF_FINDING[outcome.result]
    to_add = None
    if outcome.result in (SpfResult.NONE, SpfResult.FAIL, SpfResult.SOFTFAIL, SpfResult.NEUTRAL):
        terms = spf_check.mechanism_for(ctx.server_addresses, _include_domain(ctx))
        to_add = DnsRecord(ctx.domain, spf_check.suggested_record(found, terms))
    texts = explain(finding, domain=ctx.domain, server=ctx.server, reason=outcome.reason)
    check = DomainCheck(
        CheckName.SPF,
        _SPF_STATUS[outcome.result],
        outcome.result.value,
        ctx.domain,
        found,
        finding.value,
        texts,
        to_add,
    )
    return check, outcome


def _find_key(resolver: dns.resolver.Resolver, domain: str) -> tuple[str, str] | None:
    """(selector, record) of the first common selector with a DKIM key published."""
    for selector in COMMON_SELECTORS:
        name = dkim_keys.record_name(selector, domain)
        try:
            records = dkim_keys.published_records(resolver, name)
        except dns.exception.DNSException:
            continue
        for record in records:
            if dkim_keys.key_in_record(record):
                return selector, record
    return None


def _account_dkim(ctx: _Context) -> tuple[DomainCheck, DkimEvidence]:
    provider = dmarc_check.organizational_domain(ctx.server) if ctx.server else ""
    if provider and provider == dmarc_check.organizational_domain(ctx.domain):
        texts = explain(Finding.DKIM_PROVIDER, domain=ctx.domain)
        check = DomainCheck(
            CheckName.DKIM,
            CheckStatus.OK,
            "provider",
            ctx.domain,
            None,
            Finding.DKIM_PROVIDER.value,
            texts,
        )
        return check, DkimEvidence.SIGNED
    found = _find_key(ctx.resolver, ctx.domain)
    if found is None:
        texts = explain(Finding.DKIM_NOT_FOUND, domain=ctx.domain)
        looked_up = dkim_keys.record_name("*", ctx.domain)
        check = DomainCheck(
            CheckName.DKIM,
            CheckStatus.WARNING,
            "not_found",
            looked_up,
            None,
            Finding.DKIM_NOT_FOUND.value,
            texts,
        )
        return check, DkimEvidence.NONE
    selector, record = found
    texts = explain(Finding.DKIM_KEY_FOUND, domain=ctx.domain, selector=selector)
    check = DomainCheck(
        CheckName.DKIM,
        CheckStatus.OK,
        "found",
        dkim_keys.record_name(selector, ctx.domain),
        record,
        Finding.DKIM_KEY_FOUND.value,
        texts,
    )
    return check, DkimEvidence.PROBABLE


def _dmarc_missing(domain: str) -> DomainCheck:
    return DomainCheck(
        CheckName.DMARC,
        CheckStatus.WARNING,
        "missing",
        f"_dmarc.{domain}",
        None,
        Finding.DMARC_MISSING.value,
        explain(Finding.DMARC_MISSING, domain=domain),
        DnsRecord(f"_dmarc.{domain}", dmarc_check.suggested_record()),
    )


def _dmarc_unanswered(domain: str) -> DomainCheck:
    return DomainCheck(
        CheckName.DMARC,
        CheckStatus.WARNING,
        "temperror",
        f"_dmarc.{domain}",
        None,
        Finding.DMARC_TEMPERROR.value,
        explain(Finding.DMARC_TEMPERROR, domain=domain),
    )


def _verdict(
    record: dmarc_check.DmarcRecord, spf_aligned: bool, dkim: DkimEvidence
) -> tuple[CheckStatus, Finding, str]:
    """(status, finding, via) for an account's mail under `record`."""
    if spf_aligned or dkim == DkimEvidence.SIGNED:
        via = (
            "both"
            if spf_aligned and dkim == DkimEvidence.SIGNED
            else "spf"
            if spf_aligned
            else "dkim"
        )
        return CheckStatus.OK, Finding.DMARC_PASS, via
    if dkim == DkimEvidence.PROBABLE:
        return CheckStatus.WARNING, Finding.DMARC_PASS_IF_SIGNED, ""
    if record.policy is dmarc_check.Policy.REJECT:
        return CheckStatus.FAILING, Finding.DMARC_REJECT, ""
    if record.policy is dmarc_check.Policy.QUARANTINE:
        return CheckStatus.FAILING, Finding.DMARC_QUARANTINE, ""
    return CheckStatus.WARNING, Finding.DMARC_MONITOR_ONLY, ""


def _account_dmarc(ctx: _Context, spf: SpfOutcome, dkim: DkimEvidence) -> DomainCheck:
    try:
        record = dmarc_check.find_record(ctx.resolver, ctx.domain)
    except dmarc_check.DmarcLookupError:
        return _dmarc_unanswered(ctx.domain)
    if record is None:
        return _dmarc_missing(ctx.domain)
    # MAIL FROM is the account's own address, so SPF's identifier is the From domain itself:
    # aligned in both modes whenever SPF passes.
    envelope_domain = _domain_of(ctx.address)
    spf_aligned = spf.result is SpfResult.PASS and dmarc_check.aligned(
        envelope_domain, ctx.domain, record.aspf
    )
    status, finding, via = _verdict(record, spf_aligned, dkim)
    texts = explain(
        finding,
        address=ctx.address,
        domain=ctx.domain,
        server=ctx.server,
        policy=record.policy.value,
        via=via or "spf",
    )
    return DomainCheck(
        CheckName.DMARC,
        status,
        record.policy.value,
        record.found_at,
        record.raw,
        finding.value,
        texts,
    )


def check_account_sender(
    settings: Settings, *, address: str, server: str
) -> SenderDomainReport | None:
    """SPF, DKIM and DMARC for mail from `address` sent through the SMTP server `server`;
    None when this machine has no DNS at all."""
    resolver = resolver_for(settings)
    if resolver is None:
        return None
    domain = _domain_of(address)
    ctx = _Context(
        resolver=resolver,
        address=address,
        domain=domain,
        server=server,
        server_addresses=addresses(resolver, server),
        timeout=settings.autodiscovery_timeout_seconds,
    )
    spf, outcome = _spf(ctx)
    dkim, evidence = _account_dkim(ctx)
    dmarc = _account_dmarc(ctx, outcome, evidence)
    log.info(
        "sender domain checked",
        extra={"domain": domain, "spf": spf.result, "dkim": dkim.result, "dmarc": dmarc.result},
    )
    return SenderDomainReport(
        address, domain, server, tuple(ctx.server_addresses), (spf, dkim, dmarc)
    )


def _relay_dkim(
    resolver: dns.resolver.Resolver, domain: str, selector: str, public_key: str
) -> DomainCheck:
    name = dkim_keys.record_name(selector, domain)
    wanted = DnsRecord(name, dkim_keys.record_value(public_key))
    try:
        records = dkim_keys.published_records(resolver, name)
    except dns.exception.DNSException:
        texts = explain(Finding.DKIM_TEMPERROR, domain=domain)
        return DomainCheck(
            CheckName.DKIM,
            CheckStatus.WARNING,
            "temperror",
            name,
            None,
            Finding.DKIM_TEMPERROR.value,
            texts,
            wanted,
        )
    keys = [dkim_keys.key_in_record(r) for r in records]
    found = " | ".join(records) or None
    if public_key in keys:
        texts = explain(Finding.DKIM_PUBLISHED, domain=domain, name=name)
        return DomainCheck(
            CheckName.DKIM,
            CheckStatus.OK,
            "published",
            name,
            found,
            Finding.DKIM_PUBLISHED.value,
            texts,
        )
    finding = Finding.DKIM_DIFFERENT if any(keys) else Finding.DKIM_MISSING
    texts = explain(finding, domain=domain, name=name)
    result = "different" if any(keys) else "missing"
    return DomainCheck(
        CheckName.DKIM, CheckStatus.WARNING, result, name, found, finding.value, texts, wanted
    )


def _relay_dmarc(resolver: dns.resolver.Resolver, domain: str, signed: bool) -> DomainCheck:
    try:
        record = dmarc_check.find_record(resolver, domain)
    except dmarc_check.DmarcLookupError:
        return _dmarc_unanswered(domain)
    if record is None:
        return _dmarc_missing(domain)
    finding = Finding.DMARC_RELAY_SIGNED if signed else Finding.DMARC_RELAY_REWRITTEN
    texts = explain(finding, domain=domain, policy=record.policy.value)
    return DomainCheck(
        CheckName.DMARC,
        CheckStatus.OK,
        record.policy.value,
        record.found_at,
        record.raw,
        finding.value,
        texts,
    )


def check_relay_domain(
    settings: Settings, *, domain: str, selector: str, public_key: str, fresh: bool = True
) -> SenderDomainReport | None:
    """Whether a company domain publishes Postroom's DKIM key, and what its DMARC says.

    `fresh`: ask DNS now rather than the cache (the user has just published the record).
    """
    resolver = resolver_for(settings, cached=not fresh)
    if resolver is None:
        return None
    dkim = _relay_dkim(resolver, domain, selector, public_key)
    dmarc = _relay_dmarc(resolver, domain, dkim.status is CheckStatus.OK)
    return SenderDomainReport(f"@{domain}", domain, settings.relay_host, (), (dkim, dmarc))
