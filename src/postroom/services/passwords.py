"""User passwords: argon2id hashes, and a check that costs the same for unknown users."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from postroom.errors import ValidationError

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
# Verified against when the user does not exist, so timing does not reveal which e-mails exist.
_DUMMY_HASH = _hasher.hash("postroom-dummy-password")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError.for_field(
            "password",
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
            "password_too_short",
        )
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
