"""What a connection test found: steps with status, timing, the server's words and advice."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from postroom.enums import Security
from postroom.mail.dmarc_report import SenderDomainReport


class StepName(StrEnum):
    DNS = "dns"
    CONNECT = "connect"  # TCP
    TLS = "tls"  # the handshake, implicit or after STARTTLS
    GREETING = "greeting"
    CAPABILITIES = "capabilities"  # SMTP EHLO, IMAP CAPABILITY, POP3 CAPA
    STARTTLS = "starttls"  # the command; the handshake that follows is the next TLS step
    AUTH = "auth"
    MAIL_FROM = "mail_from"
    RCPT_TO = "rcpt_to"
    DATA = "data"
    LIST = "list"
    SENT_FOLDER = "sent_folder"
    SELECT = "select"
    STAT = "stat"
    SEND = "send"  # round trip: a real message through SMTP
    DELIVERY = "delivery"  # round trip: it arrived in the incoming mailbox


class StepStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # not applicable to these settings, or not reached after a failure


class ProbeKind(StrEnum):
    SMTP = "smtp"
    IMAP = "imap"
    POP3 = "pop3"
    ROUND_TRIP = "round_trip"


class Advice(StrEnum):
    """What to try; the code is stable (the web UI translates it), the sentence is English."""

    HOST_NOT_FOUND = "host_not_found"
    INTERNAL_ADDRESS = "internal_address"
    PORT_CLOSED = "port_closed"
    NO_ANSWER = "no_answer"
    USE_PORT_587 = "use_port_587"
    USE_IMPLICIT_TLS = "use_implicit_tls"
    USE_STARTTLS = "use_starttls"
    LOWER_CIPHER_LEVEL = "lower_cipher_level"
    TLS_FAILED = "tls_failed"
    CERTIFICATE_UNTRUSTED = "certificate_untrusted"
    CERTIFICATE_NAME_MISMATCH = "certificate_name_mismatch"
    CERTIFICATE_EXPIRED = "certificate_expired"
    WRONG_PROTOCOL = "wrong_protocol"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105  (an advice code, not a secret)
    APP_PASSWORD = "app_password"  # noqa: S105  (an advice code, not a secret)
    USE_OAUTH2 = "use_oauth2"
    OAUTH_TOKEN_REJECTED = "oauth_token_rejected"  # noqa: S105  (an advice code, not a secret)
    OAUTH_NOT_CONNECTED = "oauth_not_connected"
    PASSWORD_MISSING = "password_missing"  # noqa: S105  (an advice code, not a secret)
    AUTH_METHOD_NOT_OFFERED = "auth_method_not_offered"
    STARTTLS_NOT_OFFERED = "starttls_not_offered"
    AUTH_REQUIRED = "auth_required"
    SENDER_REFUSED = "sender_refused"
    RECIPIENT_REFUSED = "recipient_refused"
    MAILBOX_UNAVAILABLE = "mailbox_unavailable"
    SENT_FOLDER_MISSING = "sent_folder_missing"
    MESSAGE_NOT_ARRIVED = "message_not_arrived"
    CONNECTION_LOST = "connection_lost"
    SERVER_REFUSED = "server_refused"


@dataclass(frozen=True)
class Step:
    name: StepName
    status: StepStatus
    duration_ms: int = 0
    detail: str = ""  # what happened: "TLSv1.3, TLS_AES_256_GCM_SHA384", "250 2.1.0 Ok"
    server_reply: str | None = None  # the server's own words, when it refused
    advice: Advice | None = None
    advice_text: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name.value,
            "status": self.status.value,
            "duration_ms": self.duration_ms,
            "detail": self.detail,
            "server_reply": self.server_reply,
            "advice": self.advice.value if self.advice else None,
            "advice_text": self.advice_text,
        }


@dataclass(frozen=True)
class ProbeReport:
    """One server's test: SMTP, IMAP or POP3 (or the send-to-myself round trip)."""

    kind: ProbeKind
    host: str
    port: int
    security: Security
    steps: tuple[Step, ...]
    duration_ms: int
    tls_version: str | None = None
    tls_cipher: str | None = None
    sent_folder: str | None = None  # IMAP: where sent copies go, when one was found

    @property
    def ok(self) -> bool:
        return all(step.status is not StepStatus.FAILED for step in self.steps)

    @property
    def failed_step(self) -> Step | None:
        return next((s for s in self.steps if s.status is StepStatus.FAILED), None)

    def step(self, name: StepName) -> Step:
        """The last step called `name` (TLS and capabilities may appear twice with STARTTLS)."""
        return [s for s in self.steps if s.name is name][-1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "host": self.host,
            "port": self.port,
            "security": self.security.value,
            "ok": self.ok,
            "duration_ms": self.duration_ms,
            "tls_version": self.tls_version,
            "tls_cipher": self.tls_cipher,
            "sent_folder": self.sent_folder,
            "steps": [step.as_dict() for step in self.steps],
        }


@dataclass(frozen=True)
class AccountTestReport:
    """The whole "test account": outgoing and incoming side by side, and the optional round trip."""

    outgoing: ProbeReport | None
    incoming: ProbeReport | None
    round_trip: ProbeReport | None = None
    duration_ms: int = 0
    # SPF, DKIM and DMARC of the sending address (issue 9): shown, never part of `ok`.
    sender_domain: SenderDomainReport | None = None
    probes: tuple[ProbeReport, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        found = (self.outgoing, self.incoming, self.round_trip)
        object.__setattr__(self, "probes", tuple(p for p in found if p is not None))

    @property
    def ok(self) -> bool:
        return all(probe.ok for probe in self.probes)

    @property
    def failure(self) -> tuple[ProbeReport, Step] | None:
        """The first failed step and the probe it belongs to."""
        for probe in self.probes:
            if (step := probe.failed_step) is not None:
                return probe, step
        return None

    def summary(self) -> str:
        """One sentence: where the test failed, the server's words, what to try."""
        failure = self.failure
        if failure is None:
            return "Every step of the account test succeeded."
        probe, step = failure
        words = f' The server said: "{step.server_reply}".' if step.server_reply else ""
        advice = f" {step.advice_text}" if step.advice_text else ""
        return (
            f"The {probe.kind.value.upper()} test ({probe.host}:{probe.port}) failed at step "
            f"{step.name.value}: {step.detail.rstrip('.')}.{words}{advice}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "duration_ms": self.duration_ms,
            "summary": self.summary(),
            "outgoing": self.outgoing.as_dict() if self.outgoing else None,
            "incoming": self.incoming.as_dict() if self.incoming else None,
            "round_trip": self.round_trip.as_dict() if self.round_trip else None,
            "sender_domain": self.sender_domain.as_dict() if self.sender_domain else None,
        }
