"""SPF, DKIM and DMARC verdicts for an account's address and SMTP server, from real DNS answers."""

from __future__ import annotations

import pytest

from postroom.config import Settings
from postroom.mail.dmarc_report import CheckName, CheckStatus, SenderDomainReport
from postroom.services.deliverability import check_account_sender
from tests.deliverability.zones import ROGUE_HOST, SMTP_HOST, SMTP_IP, lookup_chain, provider
from tests.fixtures.dns_server import Zone


def _check(settings: Settings, address: str, server: str = SMTP_HOST) -> SenderDomainReport:
    report = check_account_sender(settings, address=address, server=server)
    assert report is not None
    return report


@pytest.mark.parametrize(
    ("record", "result", "status"),
    [
        ("v=spf1 include:provider.test -all", "pass", CheckStatus.OK),
        ("v=spf1 a:smtp.provider.test -all", "pass", CheckStatus.OK),
        ("v=spf1 mx -all", "pass", CheckStatus.OK),
        ("v=spf1 redirect=provider.test", "pass", CheckStatus.OK),
        ("v=spf1 ip4:198.51.100.0/24 -all", "fail", CheckStatus.FAILING),
        ("v=spf1 ip4:198.51.100.0/24 ~all", "softfail", CheckStatus.WARNING),
        ("v=spf1 ?all", "neutral", CheckStatus.WARNING),
        ("v=spf1 ip4:192.0.2.10 -all bogus:x", "permerror", CheckStatus.FAILING),
    ],
)
def test_spf_result_for_the_accounts_server(
    dns_settings: Settings, dns_zone: Zone, record: str, result: str, status: CheckStatus
) -> None:
    provider(dns_zone)
    dns_zone.add(f"firma.test. 300 IN MX 10 {SMTP_HOST}.")
    dns_zone.txt("firma.test", record)
    spf = _check(dns_settings, "anna@firma.test").check(CheckName.SPF)
    assert (spf.result, spf.status) == (result, status)
    assert spf.record_found == record
    assert spf.looked_up == "firma.test"


def test_no_spf_record_is_a_warning_with_the_providers_include_to_add(
    dns_settings: Settings, dns_zone: Zone
) -> None:
    provider(dns_zone)
    dns_zone.txt("firma.test", "google-site-verification=abc")  # TXT, but no SPF
    spf = _check(dns_settings, "anna@firma.test").check(CheckName.SPF)
    assert (spf.result, spf.status, spf.record_found) == ("none", CheckStatus.WARNING, None)
    assert spf.record_to_add is not None
    assert spf.record_to_add.as_dict() == {
        "name": "firma.test",
        "type": "TXT",
        "value": "v=spf1 include:provider.test ~all",
    }
    assert "firma.test" in spf.explanation["en"] and "spamu" in spf.explanation["pl"]


def test_a_failing_record_gets_the_server_added_before_its_all(
    dns_settings: Settings, dns_zone: Zone
) -> None:
    provider(dns_zone)
    dns_zone.txt("firma.test", "v=spf1 ip4:198.51.100.0/24 -all")
    spf = _check(dns_settings, "anna@firma.test").check(CheckName.SPF)
    assert spf.record_to_add is not None
    assert spf.record_to_add.value == "v=spf1 ip4:198.51.100.0/24 include:provider.test -all"


def test_a_server_without_a_providers_record_is_suggested_by_its_address(
    dns_settings: Settings, dns_zone: Zone
) -> None:
    provider(dns_zone)  # elsewhere.test publishes no SPF: only the IP can name the server
    dns_zone.txt("firma.test", "v=spf1 include:provider.test -all")
    spf = _check(dns_settings, "anna@firma.test", ROGUE_HOST).check(CheckName.SPF)
    assert spf.result == "fail"
    assert spf.record_to_add is not None
    assert spf.record_to_add.value == "v=spf1 include:provider.test ip4:198.51.100.7 -all"


def test_ten_lookups_pass_and_the_eleventh_is_a_permerror(
    dns_settings: Settings, dns_zone: Zone
) -> None:
    provider(dns_zone)
    lookup_chain(dns_zone, "ten.test", 10)
    lookup_chain(dns_zone, "eleven.test", 11)
    assert _check(dns_settings, "a@ten.test").check(CheckName.SPF).result == "pass"
    spf = _check(dns_settings, "a@eleven.test").check(CheckName.SPF)
    assert (spf.result, spf.status) == ("permerror", CheckStatus.FAILING)
    assert "lookups" in spf.explanation["en"] and "10 zapytań DNS" in spf.explanation["pl"]


def test_an_ip_literal_server_is_evaluated_as_it_is(dns_settings: Settings, dns_zone: Zone) -> None:
    dns_zone.txt("firma.test", f"v=spf1 ip4:{SMTP_IP} -all")
    report = _check(dns_settings, "anna@firma.test", SMTP_IP)
    assert report.server_addresses == (SMTP_IP,)
    assert report.check(CheckName.SPF).result == "pass"


def test_a_server_missing_from_dns_is_a_warning(dns_settings: Settings, dns_zone: Zone) -> None:
    dns_zone.txt("firma.test", "v=spf1 -all")
    spf = _check(dns_settings, "anna@firma.test", "smtp.nowhere.test").check(CheckName.SPF)
    assert spf.status is CheckStatus.WARNING
    assert spf.code == "spf_no_server"


@pytest.mark.parametrize(
    ("policy", "status", "code", "words"),
    [
        ("reject", CheckStatus.FAILING, "dmarc_reject", "odrzucą"),
        ("quarantine", CheckStatus.FAILING, "dmarc_quarantine", "do spamu"),
        ("none", CheckStatus.WARNING, "dmarc_monitor_only", "decyduje"),
    ],
)
def test_dmarc_policy_decides_what_happens_when_spf_fails(
    dns_settings: Settings, dns_zone: Zone, policy: str, status: CheckStatus, code: str, words: str
) -> None:
    provider(dns_zone)
    dns_zone.txt("firma.test", "v=spf1 ip4:198.51.100.0/24 -all")
    dns_zone.txt("_dmarc.firma.test", f"v=DMARC1; p={policy}; rua=mailto:d@firma.test")
    report = _check(dns_settings, "anna@firma.test")
    dmarc = report.check(CheckName.DMARC)
    assert (dmarc.result, dmarc.status, dmarc.code) == (policy, status, code)
    assert dmarc.looked_up == "_dmarc.firma.test"
    assert dmarc.record_found == f"v=DMARC1; p={policy}; rua=mailto:d@firma.test"
    assert words in dmarc.explanation["pl"]
    # SPF fails too: with p=none the report is as bad as SPF makes it.
    assert report.status is (status if policy != "none" else CheckStatus.FAILING)


def test_reject_policy_names_gmail_and_outlook_in_both_languages(
    dns_settings: Settings, dns_zone: Zone
) -> None:
    provider(dns_zone)
    dns_zone.txt("firma.test", "v=spf1 -all")
    dns_zone.txt("_dmarc.firma.test", "v=DMARC1; p=reject")
    dmarc = _check(dns_settings, "anna@firma.test").check(CheckName.DMARC)
    assert dmarc.explanation["en"].startswith(
        "Gmail and Outlook will reject mail from anna@firma.test sent through smtp.provider.test"
    )
    assert dmarc.explanation["pl"].startswith(
        "Gmail i Outlook odrzucą pocztę z adresu anna@firma.test wysłaną przez smtp.provider.test"
    )


def test_dmarc_passes_through_aligned_spf(dns_settings: Settings, dns_zone: Zone) -> None:
    provider(dns_zone)
    dns_zone.txt("firma.test", "v=spf1 include:provider.test -all")
    dns_zone.txt("_dmarc.firma.test", "v=DMARC1; p=reject; aspf=s; adkim=s")
    report = _check(dns_settings, "anna@firma.test")
    dmarc = report.check(CheckName.DMARC)
    assert (dmarc.status, dmarc.code) == (CheckStatus.OK, "dmarc_pass")
    assert "SPF" in dmarc.explanation["en"]


def test_subdomain_falls_back_to_the_organizations_record_and_its_sp(
    dns_settings: Settings, dns_zone: Zone
) -> None:
    provider(dns_zone)
    dns_zone.txt("poczta.firma.test", "v=spf1 -all")
    dns_zone.txt("_dmarc.firma.test", "v=DMARC1; p=none; sp=quarantine")
    dmarc = _check(dns_settings, "anna@poczta.firma.test").check(CheckName.DMARC)
    assert dmarc.looked_up == "_dmarc.firma.test"
    assert (dmarc.result, dmarc.status) == ("quarantine", CheckStatus.FAILING)


def test_no_dmarc_record_is_a_warning_with_a_record_to_add(
    dns_settings: Settings, dns_zone: Zone
) -> None:
    provider(dns_zone)
    dns_zone.txt("firma.test", "v=spf1 include:provider.test -all")
    report = _check(dns_settings, "anna@firma.test")
    dmarc = report.check(CheckName.DMARC)
    assert (dmarc.result, dmarc.status) == ("missing", CheckStatus.WARNING)
    assert dmarc.record_to_add is not None
    assert dmarc.record_to_add.as_dict() == {
        "name": "_dmarc.firma.test",
        "type": "TXT",
        "value": "v=DMARC1; p=none",
    }
    assert report.status is CheckStatus.WARNING


def test_a_published_dkim_key_makes_dmarc_a_warning_instead_of_failing(
    dns_settings: Settings, dns_zone: Zone
) -> None:
    provider(dns_zone)
    dns_zone.txt("firma.test", "v=spf1 -all")
    dns_zone.txt("_dmarc.firma.test", "v=DMARC1; p=reject")
    dns_zone.txt("selector1._domainkey.firma.test", "v=DKIM1; k=rsa; p=MIIBIjANBgkq")
    report = _check(dns_settings, "anna@firma.test")
    dkim, dmarc = report.check(CheckName.DKIM), report.check(CheckName.DMARC)
    assert (dkim.result, dkim.looked_up) == ("found", "selector1._domainkey.firma.test")
    assert (dmarc.status, dmarc.code) == (CheckStatus.WARNING, "dmarc_pass_if_signed")
    assert "rejected by Gmail and Outlook" in dmarc.explanation["en"]


def test_the_providers_own_domain_is_signed_by_the_provider(
    dns_settings: Settings, dns_zone: Zone
) -> None:
    provider(dns_zone)
    dns_zone.txt("_dmarc.provider.test", "v=DMARC1; p=reject")
    report = _check(dns_settings, "jan@provider.test")
    assert report.check(CheckName.DKIM).result == "provider"
    assert report.check(CheckName.DMARC).status is CheckStatus.OK
    assert report.status is CheckStatus.OK


def test_answers_are_cached_for_their_ttl(dns_settings: Settings, dns_zone: Zone) -> None:
    provider(dns_zone)
    dns_zone.txt("firma.test", "v=spf1 include:provider.test -all", ttl=300)
    dns_zone.txt("_dmarc.firma.test", "v=DMARC1; p=none", ttl=0)  # may not be kept at all
    _check(dns_settings, "anna@firma.test")
    first = (dns_zone.asked("firma.test", "TXT"), dns_zone.asked("_dmarc.firma.test", "TXT"))
    _check(dns_settings, "anna@firma.test")
    assert dns_zone.asked("firma.test", "TXT") == first[0]  # answered from the cache
    assert dns_zone.asked("_dmarc.firma.test", "TXT") == first[1] + 1  # TTL 0: asked again
    # "No such name" is cached too, for the SOA's minimum (RFC 2308).
    assert dns_zone.asked("google._domainkey.firma.test", "TXT") == 1
