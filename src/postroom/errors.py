"""PostroomError and its tree: what went wrong, in words a user can act on, with a stable code."""

from __future__ import annotations

from dataclasses import dataclass


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
