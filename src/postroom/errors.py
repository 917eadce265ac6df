"""PostroomError and its tree: what went wrong, in words a user can act on, with a stable code."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input field: where (`field`, dotted), what is wrong, and a stable code."""

    field: str
    message: str
    code: str = "invalid"


class PostroomError(Exception):
    """Base of every error a service reports. `code` is machine-readable and never changes."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFoundError(PostroomError, LookupError):
    """The thing does not exist, or belongs to another company (the two are never told apart)."""

    code = "not_found"


class PermissionDeniedError(PostroomError, PermissionError):
    """The caller is known and may see the thing, but may not do this to it."""

    code = "forbidden"


class AuthenticationError(PostroomError):
    """No valid credentials were presented."""

    code = "unauthenticated"


class ConflictError(PostroomError):
    """The change clashes with existing data (a duplicate name, a protocol already in use)."""

    code = "conflict"


class ValidationError(PostroomError, ValueError):
    """Input that cannot be accepted; `problems` names each field at fault."""

    code = "validation_failed"

    def __init__(self, message: str, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    @classmethod
    def for_field(cls, field_name: str, message: str, code: str = "invalid") -> ValidationError:
        return cls(message, [FieldProblem(field_name, message, code)])


class RefusalReason(StrEnum):
    """Why a send was refused (B1–B6); each is the `code` of a SendingRefusedError."""

    EMAIL_OFF = "email_off"  # the company has not turned e-mail on (B6)
    NO_SENDER_AVAILABLE = "no_sender_available"  # no usable account and no relay
    ACCOUNT_NOT_USABLE = "account_not_usable"  # visible to the user, but not theirs to send from
    ACCOUNT_NOT_IN_PROJECT = "account_not_in_project"  # bound to other projects (B4)
    ACCOUNT_INACTIVE = "account_inactive"  # set inactive (A7): parked, not sent from
    RELAY_NOT_ALLOWED = "relay_not_allowed"  # the company sends through its own servers (B6)
    RELAY_NOT_CONFIGURED = "relay_not_configured"  # this installation has no relay
    RELAY_LIMIT_REACHED = "relay_limit_reached"  # the relay's document limit is used up (B5)
    RELAY_REQUIRES_VERIFICATION = "relay_requires_verification"  # HR / own templates (B5)


class SendingRefusedError(PostroomError, PermissionError):
    """A send the rules do not allow; the message says why and how to lift the refusal."""

    code = "sending_refused"

    def __init__(self, reason: RefusalReason, message: str) -> None:
        super().__init__(message, code=reason.value)
        self.reason = reason
