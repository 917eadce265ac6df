"""How account fields are shown: labels, choices, and input errors in words a user can act on."""

from __future__ import annotations

from typing import Any

import pydantic

from postroom.enums import AccessMode, AuthMethod, CipherLevel, IncomingProtocol, Security
from postroom.errors import FieldProblem
from postroom.web.i18n import N_, Translator

LABELS = {
    "email_address": N_("E-mail address"),
    "display_name": N_("Sender name"),
    "reply_to": N_("Reply-To address"),
    "name": N_("Account name"),
    "owner_user_id": N_("Owner"),
    "smtp_host": N_("Server"),
    "smtp_port": N_("Port"),
    "smtp_security": N_("Security"),
    "smtp_cipher_level": N_("Cipher level"),
    "smtp_auth": N_("Authentication"),
    "smtp_username": N_("Login"),
    "smtp_password": N_("Password"),
    "incoming_protocol": N_("Protocol"),
    "incoming_host": N_("Server"),
    "incoming_port": N_("Port"),
    "incoming_security": N_("Security"),
    "incoming_cipher_level": N_("Cipher level"),
    "incoming_auth": N_("Authentication"),
    "incoming_username": N_("Login"),
    "incoming_password": N_("Password"),
    "active": N_("Active"),
    "leave_on_server": N_("Leave copies on the server"),
    "delete_on_server_when_purged": N_("Delete from the server when purged from Deleted Items"),
    "notifications": N_("Notifications"),
    "create_contacts": N_("Create contacts from unknown senders"),
    "create_tasks": N_("Create a task from each message"),
    "fetch_interval_minutes": N_("Fetch every (minutes)"),
    "fetch_since": N_("Fetch only mail received after"),
    "sent_folder": N_("Sent folder (IMAP)"),
    "drafts_folder": N_("Drafts folder (IMAP)"),
    "header_html": N_("Header (HTML)"),
    "signature_html": N_("Signature (HTML)"),
    "autoresponder_enabled": N_("Autoresponder on"),
    "autoresponder_from": N_("From"),
    "autoresponder_until": N_("Until"),
    "autoresponder_subject": N_("Subject"),
    "autoresponder_text": N_("Text"),
    "access_mode": N_("Who may use a company account"),
    "access_user_ids": N_("Users"),
    "access_group_ids": N_("Groups"),
    "project_ids": N_("Projects"),
}

_SECTION_PREFIXES = (("smtp_", N_("Outgoing")), ("incoming_", N_("Incoming")))


def field_label(field: str, translate: Translator) -> str:
    """A field's name in the history, where "Server" alone would not say which server."""
    label = translate(LABELS.get(field, field))
    for prefix, section in _SECTION_PREFIXES:
        if field.startswith(prefix):
            return f"{translate(section)} · {label}"
    return label


CHOICES: dict[str, list[tuple[str, str]]] = {
    "security": [
        (Security.NONE.value, N_("None (unencrypted)")),
        (Security.STARTTLS.value, "STARTTLS"),
        (Security.TLS.value, N_("SSL/TLS")),
    ],
    "cipher": [
        (CipherLevel.DEFAULT.value, N_("Default")),
        (CipherLevel.STRONG.value, N_("Strong")),
        (CipherLevel.MEDIUM.value, N_("Medium")),
        (CipherLevel.WEAK.value, N_("Weak (old servers)")),
    ],
    "auth": [
        (AuthMethod.NONE.value, N_("None")),
        (AuthMethod.PASSWORD.value, N_("Password")),
        (AuthMethod.CRAM_MD5.value, "CRAM-MD5"),
        (AuthMethod.OAUTH2.value, "OAuth2"),
    ],
    "protocol": [
        (IncomingProtocol.NONE.value, N_("None (send only)")),
        (IncomingProtocol.IMAP.value, "IMAP"),
        (IncomingProtocol.POP3.value, "POP3"),
    ],
    "access_mode": [
        (AccessMode.EVERYONE.value, N_("Everyone in the company")),
        (AccessMode.LISTED.value, N_("Only the users and groups below")),
    ],
}

_PYDANTIC_MESSAGES = {
    "greater_than_equal": N_("Must be at least {ge}."),
    "less_than_equal": N_("Must be at most {le}."),
    "int_parsing": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "date_parsing": N_("Enter a date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": N_("Enter a date (YYYY-MM-DD)."),
    "enum": N_("Choose one of the options."),
    "string_too_long": N_("Too long: at most {max_length} characters."),
    "string_pattern_mismatch": N_("Line breaks and control characters are not allowed."),
    "missing": N_("This field is required."),
    "extra_forbidden": N_("This field is not accepted here."),
    "too_long": N_("Too many entries."),
}
_PROBLEM_MESSAGES = {
    "required": N_("This field is required."),
    "date_order": N_("The end date is before the start date."),
    "unknown_user": N_("This user does not exist in the company."),
    "unknown_group": N_("This group does not exist in the company."),
    "unknown_project": N_("This project does not exist in the company."),
    "protocol_locked": N_(
        "Mail has already been downloaded with this protocol; create a new account for another."
    ),
}
_ADDRESS_FIELDS = ("email_address", "reply_to")
FORM_LEVEL = "__form__"


def _pydantic_message(error: Any, translate: Translator) -> str:
    field = str(error["loc"][0]) if error["loc"] else FORM_LEVEL
    if error["type"] == "value_error" and field in _ADDRESS_FIELDS:
        return translate("Not a valid e-mail address.")
    template = _PYDANTIC_MESSAGES.get(error["type"])
    if template is None:
        return str(error["msg"])
    return translate(template, **{k: v for k, v in (error.get("ctx") or {}).items()})


def schema_errors(exc: pydantic.ValidationError, translate: Translator) -> dict[str, list[str]]:
    """Field → messages, the field being the first part of pydantic's location."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else FORM_LEVEL
        errors.setdefault(field, []).append(_pydantic_message(error, translate))
    return errors


def problem_errors(problems: list[FieldProblem], translate: Translator) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for problem in problems:
        template = _PROBLEM_MESSAGES.get(problem.code)
        message = translate(template) if template else problem.message
        errors.setdefault(problem.field or FORM_LEVEL, []).append(message)
    return errors
