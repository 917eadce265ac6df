"""The account page (new or saved): the setup wizard, connection state and the settings form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic
from fastapi import Request
from fastapi.responses import HTMLResponse

from postroom.db.models import Account, User
from postroom.errors import ConflictError, FieldProblem, ValidationError
from postroom.services import access, accounts, oauth
from postroom.services.account_schemas import SECRET_FIELDS
from postroom.services.runtime import Runtime
from postroom.web.auth import Visitor, tenant_work
from postroom.web.fields import (
    CHOICES,
    FORM_LEVEL,
    LABELS,
    field_label,
    problem_errors,
    schema_errors,
)
from postroom.web.forms import (
    MAILBOX_PASSWORD,
    account_values,
    clear_field,
    default_values,
)
from postroom.web.health_view import health_view, oauth_outcome, oauth_view
from postroom.web.i18n import Translator
from postroom.web.rendering import render
from postroom.web.report_view import ReportView, report_view
from postroom.web.views import form_choices

Errors = dict[str, list[str]]


@dataclass(frozen=True)
class PageInput:
    """What a request adds to the page: the user's input after a refusal, a test's report."""

    values: dict[str, Any] | None = None
    errors: Errors = field(default_factory=dict)
    retype: frozenset[str] = frozenset()
    report: ReportView | None = None
    refused_by_test: bool = False  # the save was refused because the test failed
    query: Mapping[str, str] = field(default_factory=dict)


def _secrets_set(account: Account | None) -> dict[str, bool]:
    # Whether a password is stored, to say so; the value itself never reaches a page (A12).
    if account is None:
        return dict.fromkeys((*SECRET_FIELDS, MAILBOX_PASSWORD), False)
    return {
        "smtp_password": account.smtp_password_encrypted is not None,
        "incoming_password": account.incoming_password_encrypted is not None,
    }


def _heading(account: Account | None) -> dict[str, Any] | None:
    return None if account is None else {"id": account.id, "email": account.email_address}


def _default_owner(actor: User) -> int | None:
    # Administrators mostly set up shared addresses; a user can only create their own.
    return None if actor.is_admin else actor.id


def errors_of(exc: Exception, translate: Translator) -> Errors:
    if isinstance(exc, pydantic.ValidationError):
        return schema_errors(exc, translate)
    if isinstance(exc, ValidationError):
        return problem_errors(exc.problems, translate) or {FORM_LEVEL: [exc.message]}
    if isinstance(exc, ConflictError) and exc.code == "protocol_locked":
        return problem_errors([FieldProblem("incoming_protocol", exc.message, exc.code)], translate)
    return {FORM_LEVEL: [str(exc)]}


def error_summary(errors: Errors, translate: Translator) -> list[tuple[str, str, str]]:
    """Each field at fault, named with its section ("Outgoing · Port"), linked to the input."""
    return [
        (name, field_label(name, translate), " ".join(messages))
        for name, messages in errors.items()
        if name in LABELS
    ]


def _saved_state(
    runtime: Runtime, account: Account, translate: Translator, given: PageInput
) -> dict[str, Any]:
    """A saved account's connection part: health, OAuth2 sign-in, the last test's report."""
    configured = oauth.configured_providers(runtime.settings)
    report = given.report or report_view(account.last_test_report, translate)
    return {
        "health": health_view(account),
        "oauth": oauth_view(account, configured),
        "oauth_outcome": oauth_outcome(given.query, translate),
        "report": report,
        "report_is_last": given.report is None and report is not None,
    }


def form_page(
    request: Request,
    runtime: Runtime,
    visitor: Visitor,
    *,
    account_id: int | None,
    given: PageInput | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    given = given or PageInput()
    translate = Translator(visitor.language)
    with tenant_work(runtime, visitor) as (session, actor):
        account = None
        if account_id is not None:
            account = accounts.get_account(session, actor=actor, account_id=account_id)
        shown = given.values
        if shown is None:
            shown = account_values(account) if account else default_values(_default_owner(actor))
        context: dict[str, Any] = {
            "account": _heading(account),
            "can_edit": account is None or access.can_edit(actor, account),
            "is_admin": actor.is_admin,
            "secrets_set": _secrets_set(account),
            "choices": form_choices(session),
            "health": None,
            "oauth": None,
            "oauth_outcome": None,
            "report": given.report,
            "report_is_last": False,
        }
        if account is not None:
            context |= _saved_state(runtime, account, translate, given)
    context |= {
        "values": shown,
        "errors": given.errors,
        "form_errors": given.errors.get(FORM_LEVEL, []),
        "error_summary": error_summary(given.errors, translate),
        "refused_by_test": given.refused_by_test,
        "retype": given.retype,
        "labels": LABELS,
        "options": CHOICES,
        "clear_field": clear_field,
        "tab": "settings",
    }
    oauth_part = context["oauth"]
    targets = oauth_part.form_targets if oauth_part is not None else []
    return render(
        request, "account_form.html", context, status_code=status_code, form_targets=targets
    )
