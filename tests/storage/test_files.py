"""The file store: whole files or none, random keys, safe deletes."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from postroom.storage.files import FileStore, FileTooLargeError, StoredBlobMissingError


class _Broken(io.RawIOBase):
    """A source that fails after some bytes, as a dropped upload does."""

    def __init__(self) -> None:
        self.sent = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.sent:
            raise ConnectionResetError("client went away")
        self.sent = 1
        return b"x" * 1000


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_put_read_delete(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    data = b"%PDF-1.4 " * 100_000
    blob = store.put(io.BytesIO(data), max_bytes=len(data))
    assert (blob.size, blob.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert store.read(blob.key) == data and store.path(blob.key).parent.name == blob.key[:2]
    other = store.put(io.BytesIO(data), max_bytes=len(data))
    assert other.key != blob.key  # random keys: equal content, separate files
    store.delete(blob.key)
    assert not store.exists(blob.key) and store.read(other.key) == data
    store.delete(blob.key)  # already gone: fine
    with pytest.raises(StoredBlobMissingError):
        store.read(blob.key)


@pytest.mark.parametrize("source", ["too large", "broken"])
def test_a_failed_put_leaves_nothing(tmp_path: Path, source: str) -> None:
    store = FileStore(tmp_path)
    error: type[Exception] = FileTooLargeError if source == "too large" else ConnectionResetError
    stream = io.BytesIO(b"x" * 5000) if source == "too large" else _Broken()
    with pytest.raises(error):
        store.put(stream, max_bytes=4096)  # type: ignore[arg-type]
    assert _files(tmp_path) == []  # no temporary file, no partial file


def test_keys_cannot_name_other_paths(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a file store key"):
        FileStore(tmp_path).read("../../etc/passwd")
