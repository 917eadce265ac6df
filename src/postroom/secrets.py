"""Encryption of stored secrets (MultiFernet with key rotation) and a type that never shows one."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from postroom.errors import PostroomError

REDACTED = "**********"


class SecretKeyError(PostroomError):
    """The encryption keys are missing, malformed, or cannot decrypt what is stored."""

    code = "secret_key_error"


class Secret:
    """A plaintext secret held in memory. `repr`/`str` never show it; `reveal()` does."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class SecretBox:
    """Encrypts with the first key, decrypts with any: old keys keep working after rotation."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SecretKeyError("No encryption key configured.")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:
            raise SecretKeyError(
                "A key in POSTROOM_SECRET_KEY or the key file is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes); generate one with `postroom secrets new-key`."
            ) from exc
        self.key_count = len(keys)

    def encrypt(self, secret: Secret) -> str:
        return self._fernet.encrypt(secret.reveal().encode()).decode()

    def decrypt(self, token: str) -> Secret:
        try:
            return Secret(self._fernet.decrypt(token.encode()).decode())
        except InvalidToken as exc:
            raise SecretKeyError(
                "A stored secret cannot be decrypted with the configured keys; "
                "was a key removed before `postroom secrets rotate` re-encrypted everything?"
            ) from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt `token` with the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                "A stored secret cannot be decrypted with the configured keys."
            ) from exc


def new_key() -> str:
    return Fernet.generate_key().decode()


def parse_keys(text: str) -> list[str]:
    """Keys separated by commas or newlines; blank entries and `#` comments are ignored."""
    keys = []
    for line in text.replace(",", "\n").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keys.append(line)
    return keys


def load_or_create_key_file(path: Path) -> list[str]:
    """Read the key file, creating it with one new key and mode 0600 on first start."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once never overwrite each other's key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return parse_keys(path.read_text())
        with os.fdopen(fd, "w") as handle:
            handle.write(new_key() + "\n")
    return parse_keys(path.read_text())


def prepend_key_to_file(path: Path, key: str) -> list[str]:
    """Put a new primary key first in the key file, keeping the old ones for decryption."""
    keys = [key, *load_or_create_key_file(path)]
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(keys) + "\n")
    os.replace(tmp, path)
    return keys
