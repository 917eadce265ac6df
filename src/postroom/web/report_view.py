"""A connection test's report as pages show it: steps, status and advice in the visitor's words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from postroom.enums import IncomingProtocol, Security
from postroom.mail import ports
from postroom.mail.report import Advice, ProbeKind, StepName, StepStatus
from postroom.mail.steps import NOT_REACHED
from postroom.web.deliverability_view import SenderDomainView, sender_domain_view
from postroom.web.i18n import N_, Translator

STEP_LABELS = {
    StepName.DNS: N_("DNS lookup"),
    StepName.CONNECT: N_("TCP connection"),
    StepName.TLS: N_("TLS handshake"),
    StepName.GREETING: N_("Server greeting"),
    StepName.CAPABILITIES: N_("Server capabilities"),
    StepName.STARTTLS: "STARTTLS",
    StepName.AUTH: N_("Logging in"),
    StepName.MAIL_FROM: N_("Sender address (MAIL FROM)"),
    StepName.RCPT_TO: N_("Recipient address (RCPT TO)"),
    StepName.DATA: N_("Message start (DATA), nothing sent"),
    StepName.LIST: N_("Folder list"),
    StepName.SENT_FOLDER: N_("Sent folder"),
    StepName.SELECT: N_("Opening the INBOX"),
    StepName.STAT: N_("Mailbox status (STAT)"),
    StepName.SEND: N_("Test message sent"),
    StepName.DELIVERY: N_("Test message arrived"),
}

# What to try, by the diagnosis' stable code. Placeholders: {host}, {port} (the server tested),
# {tls_port} and {starttls_port} (the protocol's standard ports).
ADVICE = {
    Advice.HOST_NOT_FOUND: N_(
        "Check the server name for typos; your provider's help page lists the right one."
    ),
    Advice.INTERNAL_ADDRESS: N_(
        "The server name leads to an internal or private address, which Postroom does not "
        "connect to. Use your provider's public server name."
    ),
    Advice.PORT_CLOSED: N_(
        "Nothing accepts connections on port {port} at {host}. Check the port: usually "
        "{tls_port} with SSL/TLS or {starttls_port} with STARTTLS."
    ),
    Advice.NO_ANSWER: N_(
        "A firewall may be dropping the connection, or the port is wrong (usually {tls_port} "
        "with SSL/TLS or {starttls_port} with STARTTLS). Try again later if the server is slow."
    ),
    Advice.USE_PORT_587: N_(
        "Many networks block outgoing connections to port 25. Use port 587 with STARTTLS "
        "(or 465 with SSL/TLS), which mail providers offer for sending."
    ),
    Advice.USE_IMPLICIT_TLS: N_(
        "The server accepted the connection but stayed silent: port {port} probably expects "
        "TLS from the first byte (usually port {tls_port}). Choose SSL/TLS as the security mode."
    ),
    Advice.USE_STARTTLS: N_(
        "The server wants STARTTLS here: choose STARTTLS on port {starttls_port}, or SSL/TLS "
        "on port {tls_port}."
    ),
    Advice.LOWER_CIPHER_LEVEL: N_(
        "The server and this cipher level have no protocol version or cipher in common. "
        "Choose the next lower cipher level and test again."
    ),
    Advice.TLS_FAILED: N_(
        "The TLS handshake failed even at this cipher level; the server's TLS may be broken "
        "or obsolete. Ask your provider which settings to use."
    ),
    Advice.CERTIFICATE_UNTRUSTED: N_(
        "The server's certificate is not signed by an authority Postroom trusts. Ask your "
        "provider for a certificate from a public authority; for a server with its own "
        "authority, the Postroom operator can add that CA."
    ),
    Advice.CERTIFICATE_NAME_MISMATCH: N_(
        "The server's certificate is not valid for {host}. Use a name the certificate is valid "
        "for as the server name, or ask your provider for the right name."
    ),
    Advice.CERTIFICATE_EXPIRED: N_(
        "The server's certificate has expired. Ask your provider to renew it."
    ),
    Advice.WRONG_PROTOCOL: N_(
        "Another kind of server answers on this port. Check the port: usually {tls_port} with "
        "SSL/TLS or {starttls_port} with STARTTLS."
    ),
    Advice.WRONG_PASSWORD: N_(
        "Check the login (usually the whole address) and the password. It is the mailbox's own "
        "password, or an app password where the provider requires one — not your Postroom "
        "password."
    ),
    Advice.APP_PASSWORD: N_(
        "Google requires an app password for this account: turn on 2-step verification, create "
        "an app password in your Google account (Security → App passwords) and enter it here "
        "instead of your usual password, or connect with Google (OAuth2)."
    ),
    Advice.USE_OAUTH2: N_(
        "Microsoft has turned off password logins for this mailbox. Choose OAuth2 as the login "
        "method and sign in with Microsoft."
    ),
    Advice.OAUTH_TOKEN_REJECTED: N_(
        "The provider rejected Postroom's access; reconnect the account (sign in again)."
    ),
    Advice.OAUTH_NOT_CONNECTED: N_(
        "Sign in with the provider (OAuth2) to connect this account, then test again. A new "
        "account can be saved first: the sign-in button is on its page."
    ),
    Advice.PASSWORD_MISSING: N_(
        "Enter the mailbox's password (or app password), or choose no authentication."
    ),
    Advice.AUTH_METHOD_NOT_OFFERED: N_(
        "The server does not offer this login method here. Choose one it offers (see its "
        "answer), or check the port."
    ),
    Advice.STARTTLS_NOT_OFFERED: N_(
        "The server offers no STARTTLS on this port. Choose SSL/TLS on port {tls_port}; choose "
        "no encryption only if your provider says so (the password would travel readable)."
    ),
    Advice.AUTH_REQUIRED: N_(
        "This server sends mail only after a login: choose a login method and enter the password."
    ),
    Advice.SENDER_REFUSED: N_(
        "The server does not let this login send as this address. Use the address of this "
        "mailbox, or ask your provider to allow this sender address."
    ),
    Advice.RECIPIENT_REFUSED: N_(
        "The server refused the mailbox's own address as a recipient; check the e-mail address."
    ),
    Advice.MAILBOX_UNAVAILABLE: N_(
        "The server would not open the INBOX; ask your provider whether the mailbox works."
    ),
    Advice.SENT_FOLDER_MISSING: N_(
        "No Sent folder was found; copies of sent mail go to the folder set in Options."
    ),
    Advice.MESSAGE_NOT_ARRIVED: N_(
        "The server accepted the message but it did not arrive in the incoming mailbox in time. "
        "It may arrive later or land in spam; check the incoming server settings."
    ),
    Advice.CONNECTION_LOST: N_(
        "The server or the network broke the connection; try again, then check the port."
    ),
    Advice.SERVER_REFUSED: N_("Read the server's answer above."),
}

PROBE_TITLES = {
    ProbeKind.SMTP: N_("Outgoing mail"),
    ProbeKind.IMAP: N_("Incoming mail"),
    ProbeKind.POP3: N_("Incoming mail"),
    ProbeKind.ROUND_TRIP: N_("Test message to myself"),
}
SECURITY_LABELS = {
    Security.NONE: N_("no encryption"),
    Security.STARTTLS: "STARTTLS",
    Security.TLS: "SSL/TLS",
}
_SIDES = ("outgoing", "incoming", "round_trip")


@dataclass(frozen=True)
class StepView:
    name: str  # the StepName value, for tests and CSS
    label: str
    status: str  # ok, failed, skipped, pending (still to come in a running test)
    duration_ms: int
    detail: str
    server_reply: str | None
    advice: str | None


@dataclass(frozen=True)
class ProbeView:
    kind: str
    title: str
    server: str  # "IMAP · imap.firma.pl:993 · SSL/TLS"
    status: str  # ok, failed, running
    duration_ms: int
    tls: str | None
    sent_folder: str | None
    steps: list[StepView]


@dataclass(frozen=True)
class ReportView:
    state: str  # running, passed, incomplete (stopped before the login), failed
    probes: list[ProbeView]
    duration_ms: int
    failure: tuple[str, str] | None = None  # (probe title, step label) of the first failure
    sender_domain: SenderDomainView | None = None  # SPF, DKIM, DMARC of the address (issue 9)


def _standard_ports(kind: ProbeKind) -> tuple[int, int]:
    if kind in (ProbeKind.SMTP, ProbeKind.ROUND_TRIP):
        return ports.smtp_port(Security.TLS), ports.smtp_port(Security.STARTTLS)
    protocol = IncomingProtocol.POP3 if kind is ProbeKind.POP3 else IncomingProtocol.IMAP
    return (
        ports.incoming_port(protocol, Security.TLS) or 0,
        ports.incoming_port(protocol, Security.STARTTLS) or 0,
    )


def advice_text(code: str | None, probe: Mapping[str, Any], translate: Translator) -> str | None:
    """The advice in the visitor's language, filled with the tested server's host and ports."""
    try:
        advice = Advice(code) if code else None
    except ValueError:
        return None  # a code this version does not know: the rest of the step still shows
    if advice is None:
        return None
    tls_port, starttls_port = _standard_ports(ProbeKind(probe["kind"]))
    return translate(
        ADVICE[advice],
        host=probe["host"],
        port=probe["port"],
        tls_port=tls_port,
        starttls_port=starttls_port,
    )


def _step_label(name: str, translate: Translator) -> str:
    try:
        return translate(STEP_LABELS[StepName(name)])
    except ValueError:
        return name


def step_view(
    step: Mapping[str, Any], probe: Mapping[str, Any], translate: Translator, *, running: bool
) -> StepView:
    status, detail = str(step["status"]), str(step.get("detail") or "")
    if status == StepStatus.SKIPPED and detail == NOT_REACHED:
        # Planned but not done: still to come while the test runs, else never reached.
        status = "pending" if running else StepStatus.SKIPPED.value
        detail = ""
    return StepView(
        name=str(step["name"]),
        label=_step_label(str(step["name"]), translate),
        status=status,
        duration_ms=int(step.get("duration_ms") or 0),
        detail=detail,
        server_reply=step.get("server_reply"),
        advice=advice_text(step.get("advice"), probe, translate),
    )


def _server_line(probe: Mapping[str, Any], translate: Translator) -> str:
    kind = ProbeKind(probe["kind"])
    protocol = "SMTP" if kind is ProbeKind.ROUND_TRIP else kind.value.upper()
    security = translate(SECURITY_LABELS.get(Security(probe["security"]), probe["security"]))
    return f"{protocol} · {probe['host']}:{probe['port']} · {security}"


def probe_view(probe: Mapping[str, Any], translate: Translator, *, running: bool) -> ProbeView:
    steps = [step_view(s, probe, translate, running=running) for s in probe["steps"]]
    statuses = {s.status for s in steps}
    if StepStatus.FAILED.value in statuses:
        status = "failed"
    elif "pending" in statuses:
        status = "running"
    else:
        status = "ok"
    version, cipher = probe.get("tls_version"), probe.get("tls_cipher")
    return ProbeView(
        kind=str(probe["kind"]),
        title=translate(PROBE_TITLES[ProbeKind(probe["kind"])]),
        server=_server_line(probe, translate),
        status=status,
        duration_ms=int(probe.get("duration_ms") or 0),
        tls=f"{version}, {cipher}" if version and cipher else version,
        sent_folder=probe.get("sent_folder"),
        steps=steps,
    )


def _stopped(probes: list[ProbeView]) -> bool:
    # A test that ended before the login with advice (no OAuth2 sign-in yet) proved no login.
    return any(s.status == StepStatus.SKIPPED and s.advice for p in probes for s in p.steps)


def report_view(report: Mapping[str, Any] | None, translate: Translator) -> ReportView | None:
    """A finished report (AccountTestReport.as_dict(), also as stored on the account)."""
    if not report:
        return None
    probes = [
        probe_view(report[side], translate, running=False) for side in _SIDES if report.get(side)
    ]
    state = "incomplete" if _stopped(probes) else "passed"
    if not report.get("ok"):
        state = "failed"
    duration_ms = int(report.get("duration_ms") or 0)
    domain = sender_domain_view(report.get("sender_domain"), translate)
    return ReportView(state, probes, duration_ms, _failure(probes), domain)


def _failure(probes: list[ProbeView]) -> tuple[str, str] | None:
    for probe in probes:
        for step in probe.steps:
            if step.status == StepStatus.FAILED:
                return probe.title, step.label
    return None


_ORDER = {kind.value: index for index, kind in enumerate(ProbeKind)}


def live_view(probes: Mapping[str, Mapping[str, Any]], translate: Translator) -> ReportView:
    """A running test: each probe's report so far (by kind), in a stable order."""
    ordered = sorted(probes.values(), key=lambda p: _ORDER.get(str(p["kind"]), 99))
    views = [probe_view(p, translate, running=True) for p in ordered]
    return ReportView("running", views, 0)
