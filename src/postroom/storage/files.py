"""Uploaded files' bytes on disk, written atomically under random keys; no business rules."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from postroom.errors import PostroomError
from postroom.storage.durable import fsync_directory
from postroom.storage.shards import files_older_than

CHUNK_BYTES = 1024 * 1024
_KEY = re.compile(r"^[0-9a-f]{32}$")


class FileTooLargeError(PostroomError, ValueError):
    """More bytes came than the limit allows; nothing was kept."""

    code = "file_too_large"

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class StoredBlobMissingError(PostroomError, FileNotFoundError):
    """The bytes of a stored file are gone from the disk (deleted by hand, lost disk)."""

    code = "file_missing"


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    sha256: str  # hex


class FileStore:
    """Files under `root`, each at root/ab/<key>; a file is complete or absent, never partial.

    Keys are random, not content hashes: two companies uploading the same invoice get two
    files, so deleting one can never touch the other's, and no reference counting is needed.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a file store key: {key!r}")
        return self.root / key[:2] / key

    def put(self, source: BinaryIO, *, max_bytes: int) -> StoredBlob:
        """Copy `source` in: a temporary file, fsync, rename, fsync of the directory."""
        key = secrets.token_hex(16)
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                while chunk := source.read(CHUNK_BYTES):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooLargeError(
                            f"The file is larger than {max_bytes} bytes.", limit=max_bytes
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        fsync_directory(target.parent)
        return StoredBlob(key=key, size=size, sha256=digest.hexdigest())

    def path(self, key: str) -> Path:
        """Where the bytes of `key` are (to serve them as a file); raises if they are gone."""
        path = self._path(key)
        if not path.is_file():
            raise StoredBlobMissingError(f"The stored file {key} is missing.")
        return path

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise StoredBlobMissingError(f"The stored file {key} is missing.") from exc

    def read(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def delete(self, key: str) -> None:
        """Remove the bytes; a missing file is already deleted."""
        path = self._path(key)
        if path.parent.is_dir():
            path.unlink(missing_ok=True)
            fsync_directory(path.parent)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def stale_keys(self, older_than_seconds: float) -> Iterator[str]:
        """Keys of files last written before then; unfinished temporary files of that age
        (a process killed mid-upload) are removed on the way."""
        for path in files_older_than(self.root, older_than_seconds):
            if path.name.startswith(".upload-"):
                path.unlink(missing_ok=True)
            elif _KEY.match(path.name):
                yield path.name
