"""What each sender-domain finding means for the user's mail, in plain English and Polish."""

# The report carries both languages: API clients show the one their user reads, the web UI
# picks the visitor's. Placeholders: {address}, {domain}, {server}, {policy}, {reason},
# {selector}, {name}, {via}.

from __future__ import annotations

from enum import StrEnum


class Finding(StrEnum):
    SPF_PASS = "spf_pass"  # noqa: S105  (a finding, not a secret)
    SPF_NONE = "spf_none"
    SPF_FAIL = "spf_fail"
    SPF_SOFTFAIL = "spf_softfail"
    SPF_NEUTRAL = "spf_neutral"
    SPF_PERMERROR = "spf_permerror"
    SPF_TEMPERROR = "spf_temperror"
    SPF_NO_SERVER = "spf_no_server"
    DKIM_PROVIDER = "dkim_provider"
    DKIM_KEY_FOUND = "dkim_key_found"
    DKIM_NOT_FOUND = "dkim_not_found"
    DKIM_PUBLISHED = "dkim_published"
    DKIM_MISSING = "dkim_missing"
    DKIM_DIFFERENT = "dkim_different"
    DKIM_TEMPERROR = "dkim_temperror"
    DMARC_MISSING = "dmarc_missing"
    DMARC_PASS = "dmarc_pass"  # noqa: S105  (a finding, not a secret)
    DMARC_PASS_IF_SIGNED = "dmarc_pass_if_signed"  # noqa: S105  (a finding, not a secret)
    DMARC_REJECT = "dmarc_reject"
    DMARC_QUARANTINE = "dmarc_quarantine"
    DMARC_MONITOR_ONLY = "dmarc_monitor_only"
    DMARC_TEMPERROR = "dmarc_temperror"
    DMARC_RELAY_SIGNED = "dmarc_relay_signed"
    DMARC_RELAY_REWRITTEN = "dmarc_relay_rewritten"


_TEXTS: dict[Finding, tuple[str, str]] = {
    Finding.SPF_PASS: (
        "The SPF record of {domain} allows {server} to send its mail.",
        "Rekord SPF domeny {domain} pozwala serwerowi {server} wysyłać jej pocztę.",
    ),
    Finding.SPF_NONE: (
        "{domain} publishes no SPF record, so receivers cannot tell whether {server} may send "
        "its mail, and many put such mail into spam. Publish the record below.",
        "Domena {domain} nie ma rekordu SPF, więc odbiorcy nie wiedzą, czy serwer {server} może "
        "wysyłać jej pocztę, i wielu przenosi taką pocztę do spamu. Opublikuj rekord poniżej.",
    ),
    Finding.SPF_FAIL: (
        "The SPF record of {domain} does not include {server}: receivers take mail sent "
        "through it for forged and may reject it. Add the server to the record (below).",
        "Rekord SPF domeny {domain} nie obejmuje serwera {server}: odbiorcy uznają wysłaną "
        "przez niego pocztę za podrobioną i mogą ją odrzucić. Dodaj serwer do rekordu "
        "(poniżej).",
    ),
    Finding.SPF_SOFTFAIL: (
        "The SPF record of {domain} does not include {server} (~all): receivers accept such "
        "mail but often put it into spam. Add the server to the record (below).",
        "Rekord SPF domeny {domain} nie obejmuje serwera {server} (~all): odbiorcy przyjmują "
        "taką pocztę, ale często przenoszą ją do spamu. Dodaj serwer do rekordu (poniżej).",
    ),
    Finding.SPF_NEUTRAL: (
        "The SPF record of {domain} says nothing about {server} (?all), so it does not help "
        "receivers trust the mail. Add the server to the record (below).",
        "Rekord SPF domeny {domain} nic nie mówi o serwerze {server} (?all), więc nie pomaga "
        "odbiorcom zaufać poczcie. Dodaj serwer do rekordu (poniżej).",
    ),
    Finding.SPF_PERMERROR: (
        "The SPF record of {domain} is broken ({reason}), and receivers count that as a "
        "failure. Fix it: a record may cause at most 10 DNS lookups (include, a, mx, ptr, "
        "exists, redirect), includes of includes counted too.",
        "Rekord SPF domeny {domain} jest błędny ({reason}), a odbiorcy liczą to jako "
        "niepowodzenie. Popraw go: rekord może wymagać najwyżej 10 zapytań DNS (include, a, mx, "
        "ptr, exists, redirect), wliczając include'y zagnieżdżone.",
    ),
    Finding.SPF_TEMPERROR: (
        "The DNS servers of {domain} did not answer, so SPF could not be checked now. Test "
        "again later.",
        "Serwery DNS domeny {domain} nie odpowiedziały, więc nie udało się teraz sprawdzić SPF. "
        "Przetestuj ponownie później.",
    ),
    Finding.SPF_NO_SERVER: (
        "The address of {server} could not be found in DNS, so SPF could not be checked.",
        "Nie udało się znaleźć adresu serwera {server} w DNS, więc nie sprawdzono SPF.",
    ),
    Finding.DKIM_PROVIDER: (
        "{domain} is the provider's own domain: the provider signs its mail with DKIM.",
        "{domain} to domena samego dostawcy: dostawca podpisuje jej pocztę kluczem DKIM.",
    ),
    Finding.DKIM_KEY_FOUND: (
        "{domain} publishes a DKIM key (selector {selector}). If your provider signs your mail "
        "with it, receivers can verify the mail even where SPF does not cover the server.",
        "Domena {domain} publikuje klucz DKIM (selektor {selector}). Jeśli dostawca podpisuje "
        "nim Twoją pocztę, odbiorcy mogą ją zweryfikować nawet tam, gdzie SPF nie obejmuje "
        "serwera.",
    ),
    Finding.DKIM_NOT_FOUND: (
        "No DKIM key of {domain} was found under the selectors providers usually use. If your "
        "provider can sign your mail with DKIM, ask it for the record to publish; without DKIM, "
        "DMARC rests on SPF alone.",
        "Nie znaleziono klucza DKIM domeny {domain} pod selektorami, których zwykle używają "
        "dostawcy. Jeśli dostawca może podpisywać Twoją pocztę DKIM, poproś go o rekord do "
        "opublikowania; bez DKIM wynik DMARC zależy tylko od SPF.",
    ),
    Finding.DKIM_PUBLISHED: (
        "The DKIM key Postroom signs with is published at {name}: relay mail from {domain} is "
        "signed and receivers can verify it.",
        "Klucz DKIM, którym podpisuje Postroom, jest opublikowany pod {name}: poczta z domeny "
        "{domain} wysyłana przez platformę jest podpisana i odbiorcy mogą ją zweryfikować.",
    ),
    Finding.DKIM_MISSING: (
        "The DKIM record is not published at {name} yet. Add the record below to your domain's "
        "DNS; until then relay mail goes out from the platform's address with your company's "
        "name, and replies still reach you.",
        "Rekord DKIM nie jest jeszcze opublikowany pod {name}. Dodaj poniższy rekord do DNS "
        "domeny; do tego czasu poczta z platformy wychodzi z adresu platformy z nazwą Twojej "
        "firmy, a odpowiedzi i tak trafiają do Ciebie.",
    ),
    Finding.DKIM_DIFFERENT: (
        "Another key is published at {name}, so Postroom's signatures would not verify. "
        "Replace that record with the one below.",
        "Pod {name} opublikowano inny klucz, więc podpisy Postroom nie dałyby się "
        "zweryfikować. Zastąp ten rekord poniższym.",
    ),
    Finding.DKIM_TEMPERROR: (
        "The DNS servers of {domain} did not answer, so DKIM could not be checked now. Test "
        "again later.",
        "Serwery DNS domeny {domain} nie odpowiedziały, więc nie udało się teraz sprawdzić DKIM. "
        "Przetestuj ponownie później.",
    ),
    Finding.DMARC_MISSING: (
        "{domain} has no DMARC record. Gmail and Yahoo require one from senders of bulk mail, "
        "and receivers trust mail more with it. Publish the record below: p=none only "
        "monitors and changes nothing in delivery.",
        "Domena {domain} nie ma rekordu DMARC. Gmail i Yahoo wymagają go od nadawców poczty "
        "masowej, a odbiorcy bardziej ufają poczcie, która go ma. Opublikuj rekord poniżej: "
        "p=none tylko monitoruje i niczego nie zmienia w doręczaniu.",
    ),
    Finding.DMARC_PASS: (
        "The DMARC policy of {domain} is {policy}, and mail sent this way passes it: {via} "
        "matches the From address.",
        "Polityka DMARC domeny {domain} to {policy}, a poczta wysłana w ten sposób ją spełnia: "
        "{via} zgadza się z adresem nadawcy.",
    ),
    Finding.DMARC_PASS_IF_SIGNED: (
        "The DMARC policy of {domain} is {policy}. SPF does not cover {server}, so mail passes "
        "DMARC only if your provider signs it with the DKIM key of {domain}; otherwise it will "
        "be {consequence_en}. Adding the server to the SPF record makes it certain.",
        "Polityka DMARC domeny {domain} to {policy}. SPF nie obejmuje serwera {server}, więc "
        "poczta spełni DMARC tylko wtedy, gdy dostawca podpisze ją kluczem DKIM domeny "
        "{domain}; w przeciwnym razie zostanie {consequence_pl}. Dodanie serwera do rekordu SPF "
        "daje pewność.",
    ),
    Finding.DMARC_REJECT: (
        "Gmail and Outlook will reject mail from {address} sent through {server}: the DMARC "
        "policy of {domain} is reject, and neither SPF nor DKIM passes for this server. Add "
        "the server to the SPF record, or have your provider sign with DKIM for {domain}.",
        "Gmail i Outlook odrzucą pocztę z adresu {address} wysłaną przez {server}: polityka "
        "DMARC domeny {domain} to reject, a dla tego serwera nie przechodzi ani SPF, ani DKIM. "
        "Dodaj serwer do rekordu SPF albo poproś dostawcę o podpisywanie DKIM dla domeny "
        "{domain}.",
    ),
    Finding.DMARC_QUARANTINE: (
        "Gmail and Outlook will put mail from {address} sent through {server} into spam: the "
        "DMARC policy of {domain} is quarantine, and neither SPF nor DKIM passes for this "
        "server. Add the server to the SPF record, or have your provider sign with DKIM for "
        "{domain}.",
        "Gmail i Outlook przeniosą pocztę z adresu {address} wysłaną przez {server} do spamu: "
        "polityka DMARC domeny {domain} to quarantine, a dla tego serwera nie przechodzi ani "
        "SPF, ani DKIM. Dodaj serwer do rekordu SPF albo poproś dostawcę o podpisywanie DKIM "
        "dla domeny {domain}.",
    ),
    Finding.DMARC_MONITOR_ONLY: (
        "Mail from {address} sent through {server} fails DMARC (neither SPF nor DKIM passes), "
        "but the policy of {domain} is none, so each receiver decides alone and may put it "
        "into spam. Add the server to the SPF record.",
        "Poczta z adresu {address} wysłana przez {server} nie spełnia DMARC (nie przechodzi "
        "ani SPF, ani DKIM), ale polityka domeny {domain} to none, więc każdy odbiorca decyduje "
        "sam i może przenieść ją do spamu. Dodaj serwer do rekordu SPF.",
    ),
    Finding.DMARC_TEMPERROR: (
        "The DNS servers of {domain} did not answer, so DMARC could not be checked now. Test "
        "again later.",
        "Serwery DNS domeny {domain} nie odpowiedziały, więc nie udało się teraz sprawdzić "
        "DMARC. Przetestuj ponownie później.",
    ),
    Finding.DMARC_RELAY_SIGNED: (
        "The DMARC policy of {domain} is {policy}. Relay mail from {domain} passes it: "
        "Postroom signs it with DKIM for {domain}.",
        "Polityka DMARC domeny {domain} to {policy}. Poczta z domeny {domain} wysyłana przez "
        "platformę ją spełnia: Postroom podpisuje ją kluczem DKIM domeny {domain}.",
    ),
    Finding.DMARC_RELAY_REWRITTEN: (
        "Until the DKIM record is published, relay mail goes out from the platform's address, "
        "so the DMARC policy of {domain} ({policy}) can never make it fail.",
        "Dopóki rekord DKIM nie jest opublikowany, poczta z platformy wychodzi z adresu "
        "platformy, więc polityka DMARC domeny {domain} ({policy}) nie może jej zablokować.",
    ),
}

_CONSEQUENCES = {
    "reject": ("rejected by Gmail and Outlook", "odrzucona przez Gmail i Outlook"),
    "quarantine": (
        "put into spam by Gmail and Outlook",
        "przeniesiona do spamu przez Gmail i Outlook",
    ),
    "none": ("judged by each receiver alone", "oceniona przez każdego odbiorcę osobno"),
}
_VIA = {
    "spf": ("SPF", "SPF"),
    "dkim": ("DKIM", "DKIM"),
    "both": ("SPF and DKIM", "SPF i DKIM"),
}


def explain(finding: Finding, **values: str) -> dict[str, str]:
    """The finding in English and Polish, filled with `values`."""
    english, polish = _TEXTS[finding]
    en_values, pl_values = dict(values), dict(values)
    if "policy" in values:
        en, pl = _CONSEQUENCES.get(values["policy"], _CONSEQUENCES["none"])
        en_values.update(consequence_en=en)
        pl_values.update(consequence_pl=pl)
    if "via" in values:
        en_values["via"], pl_values["via"] = _VIA[values["via"]]
    return {"en": english.format(**en_values), "pl": polish.format(**pl_values)}
