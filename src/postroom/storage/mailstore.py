"""Raw received messages on disk, exactly as the server sent them; no business rules.

Interface used by sync (write), reading, migration and purge (read/delete). The sync engine
may write many messages and make them durable together (`put_many`), since a mirror's
batch is committed to the database only after its files are on disk.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from postroom.storage.files import StoredBlobMissingError

_KEY_LENGTH = 32


class MailStore:
    """Messages under `root`, each at root/ab/<key>; keys are random hex (no content hashing,
    so deleting one company's copy can never touch another's)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if len(key) != _KEY_LENGTH or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"not a mail store key: {key!r}")
        return self.root / key[:2] / key

    def put_many(self, messages: Sequence[bytes]) -> list[str]:
        """Write each message to its own file, then make them all durable at once.

        Files are written under temporary names and renamed, so a file is complete or absent;
        one fsync per file and per touched directory after all writes (not one write-fsync
        round per message) keeps a big first sync fast.
        """
        keys: list[str] = []
        written: list[tuple[Path, Path]] = []
        try:
            for raw in messages:
                key = secrets.token_hex(_KEY_LENGTH // 2)
                target = self._path(key)
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary = target.with_name(f".{key}.tmp")
                with temporary.open("wb") as out:
                    out.write(raw)
                    out.flush()
                    os.fsync(out.fileno())
                written.append((temporary, target))
                keys.append(key)
            for temporary, target in written:
                os.replace(temporary, target)
        except BaseException:
            for temporary, _ in written:
                temporary.unlink(missing_ok=True)
            raise
        for directory in {target.parent for _, target in written}:
            _fsync_directory(directory)
        return keys

    def put(self, raw: bytes) -> str:
        return self.put_many([raw])[0]

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise StoredBlobMissingError(f"The stored message {key} is missing.") from exc

    def read(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def delete(self, key: str) -> None:
        """Remove the bytes; a missing file is already deleted."""
        self._path(key).unlink(missing_ok=True)


def mail_store_for(data_dir: Path) -> MailStore:
    return MailStore(data_dir / "mail")


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
