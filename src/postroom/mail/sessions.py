"""Sessions for real work (sending, appending): the probes' handshake, without a step report."""

from __future__ import annotations

from postroom.mail import imap_probe, smtp_probe
from postroom.mail.diagnose import DiagnosisContext
from postroom.mail.errors import MailError, MailTimeoutError, MissingSecretError
from postroom.mail.imap_probe import ImapSession, MailboxTarget
from postroom.mail.probe_common import ProbeOptions, ProbeRun
from postroom.mail.report import ProbeKind
from postroom.mail.smtp_probe import SmtpSession, SmtpTarget
from postroom.mail.steps import StepFailedError, StepRecorder, loop_deadline


def _quiet_run(
    kind: ProbeKind, target: SmtpTarget | MailboxTarget, options: ProbeOptions
) -> ProbeRun:
    creds = target.credentials
    context = DiagnosisContext(kind, target.endpoint, creds.method, creds.username, target.address)
    recorder = StepRecorder(context, loop_deadline(options.timeout_seconds))
    return ProbeRun(recorder, target.endpoint, options)


def _cause(failed: StepFailedError) -> Exception:
    """The error behind a failed handshake step, so callers see MailError and its leaves."""
    cause = failed.__cause__
    if isinstance(cause, TimeoutError) and not isinstance(cause, MailError):
        return MailTimeoutError(f"The server did not answer in time ({failed.step.name.value}).")
    if isinstance(cause, Exception):
        return cause
    # A step stopped without an error: an OAuth2 login with no token yet.
    return MissingSecretError(failed.step.detail)


async def open_smtp(target: SmtpTarget, options: ProbeOptions) -> SmtpSession:
    """Connected, encrypted as configured (STARTTLS or TLS) and logged in; raises MailError."""
    try:
        return await smtp_probe.open_session(_quiet_run(ProbeKind.SMTP, target, options), target)
    except StepFailedError as exc:
        cause = _cause(exc)
        raise cause from cause.__cause__


async def open_imap(target: MailboxTarget, options: ProbeOptions) -> ImapSession:
    """An IMAP session, logged in; raises MailError. Close it with `imap_probe.close_session`."""
    try:
        return await imap_probe.open_session(_quiet_run(ProbeKind.IMAP, target, options), target)
    except StepFailedError as exc:
        cause = _cause(exc)
        raise cause from cause.__cause__
