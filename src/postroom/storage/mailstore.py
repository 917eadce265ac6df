"""Raw received messages on disk, exactly as the server sent them; no business rules.

Interface used by sync (write), reading, migration and purge (read/delete). The sync engine
writes a batch of messages at once (`put_many`): they go one after another into one new
segment file, made durable together, since a mirror's batch is committed to the database
only after its bytes are on disk. A message's key names its segment and its byte range,
`<segment>:<offset>:<length>`; keys of the older layout (one file per message, a bare
segment name) are still read and deleted.

Why segments and not a file per message (docs/decisions.md): creating a file costs about
0.35 ms on these machines' ext4, so 10,000 files took 3.5 s, most of a first sync, while
writing the same 410 MB into 20 files took 0.16 s. Deleting a message punches a hole over
its range (the blocks go back to the file system, and the bytes read as zeros afterwards);
a segment whose every message is deleted is removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import secrets
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from postroom.storage.durable import fsync_directory
from postroom.storage.files import StoredBlobMissingError
from postroom.storage.shards import files_older_than

SEGMENT_NAME_LENGTH = 32
_HEX = frozenset("0123456789abcdef")
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_ZEROS = bytes(1 << 16)
_IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024) if hasattr(os, "sysconf") else 16


def _is_segment_name(name: str) -> bool:
    return len(name) == SEGMENT_NAME_LENGTH and _HEX.issuperset(name)


class _Entry:
    """Where one message's bytes are: a segment file and a byte range in it (None: the
    whole file, the older layout)."""

    __slots__ = ("length", "offset", "segment")

    def __init__(self, segment: str, offset: int, length: int | None) -> None:
        self.segment, self.offset, self.length = segment, offset, length

    @classmethod
    def parse(cls, key: str) -> _Entry:
        segment, *span = key.split(":")
        valid = _is_segment_name(segment)
        if valid and not span:
            return cls(segment, 0, None)
        if valid and len(span) == 2 and all(part.isdigit() for part in span):
            return cls(segment, int(span[0]), int(span[1]))
        raise ValueError(f"not a mail store key: {key!r}")


@dataclass(frozen=True)
class WrittenSegment:
    """A segment on its way to disk (MailStore.write_many)."""

    keys: list[str]
    path: Path | None  # None: nothing was written
    new_directories: tuple[Path, ...]  # to sync too: the shard directory was made now


class MailStore:
    """Segments under `root`, each at root/ab/<segment>; segment names are random hex (no
    content hashing, and one segment holds one batch of one account, so deleting one
    company's copy can never touch another's)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: set[Path] = set()  # shard directories known to exist

    def _segment_path(self, segment: str) -> Path:
        return self.root / segment[:2] / segment

    def put_many(self, messages: Sequence[bytes]) -> list[str]:
        """Write the messages into one new segment, durable before this returns.

        The caller commits rows naming these keys only after this returns, so a crash can
        leave a segment without rows (harmless), never a row without its bytes; that is why
        no temporary name and rename is needed.
        """
        written = self.write_many(messages)
        self.make_durable(written)
        return written.keys

    def write_many(self, messages: Sequence[bytes]) -> WrittenSegment:
        """`put_many` in two steps, for a caller with other work to do while the disk
        catches up: the segment written (readable at once), not yet durable. No row may name
        its keys until `make_durable` has returned."""
        if not messages:
            return WrittenSegment([], None, ())
        segment = secrets.token_hex(SEGMENT_NAME_LENGTH // 2)
        target = self._segment_path(segment)
        made = self._make_directory(target.parent)
        keys: list[str] = []
        offset = 0
        for raw in messages:
            keys.append(f"{segment}:{offset}:{len(raw)}")
            offset += len(raw)
        fd = os.open(target, _FLAGS, 0o600)
        try:
            _write_all(fd, messages)
        except BaseException:
            os.close(fd)
            target.unlink(missing_ok=True)
            raise
        os.close(fd)
        return WrittenSegment(keys, target, (self.root, self.root.parent) if made else ())

    def make_durable(self, written: WrittenSegment) -> None:
        if written.path is not None:
            _make_durable(written.path, written.new_directories)

    def _make_directory(self, directory: Path) -> bool:
        """Whether the directory was made now (its name then needs its parent synced)."""
        if directory in self._made:
            return False
        made = not directory.is_dir()
        if made:
            directory.mkdir(parents=True, exist_ok=True)
        self._made.add(directory)
        return made

    def put(self, raw: bytes) -> str:
        return self.put_many([raw])[0]

    def stale_segments(self, older_than_seconds: float) -> Iterator[str]:
        """Names of the segments last written before then (a deletion's hole counts as a
        write), for the sweep of segments no row names (services/mail_store_sweep.py)."""
        for path in files_older_than(self.root, older_than_seconds):
            name = path.name
            if path == self._segment_path(name) and _is_segment_name(name):
                yield name

    def remove_segment(self, segment: str) -> None:
        """The whole segment file, whatever it holds: only for a segment no row names."""
        self._segment_path(_Entry.parse(segment).segment).unlink(missing_ok=True)

    def open(self, key: str) -> BinaryIO:
        entry = _Entry.parse(key)
        try:
            handle = self._segment_path(entry.segment).open("rb")
        except FileNotFoundError as exc:
            raise StoredBlobMissingError(f"The stored message {key} is missing.") from exc
        if entry.length is None:
            return handle
        return io.BufferedReader(_Range(handle, entry.offset, entry.length))

    def read(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def read_many(self, keys: Sequence[str]) -> list[bytes]:
        """Several messages, in order; each segment opened once (a batch shares one)."""
        found: list[bytes] = []
        fds: dict[str, int] = {}
        try:
            for key in keys:
                entry = _Entry.parse(key)
                if entry.length is None:
                    found.append(self.read(key))
                    continue
                fd = fds.get(entry.segment)
                if fd is None:
                    try:
                        fd = fds[entry.segment] = os.open(
                            self._segment_path(entry.segment), os.O_RDONLY
                        )
                    except FileNotFoundError as exc:
                        raise StoredBlobMissingError(
                            f"The stored message {key} is missing."
                        ) from exc
                data = os.pread(fd, entry.length, entry.offset)
                if len(data) < entry.length:
                    raise StoredBlobMissingError(f"The stored message {key} is cut short.")
                found.append(data)
        finally:
            for fd in fds.values():
                os.close(fd)
        return found

    def exists(self, key: str) -> bool:
        """Whether the message's bytes are still there (a deleted range reads as zeros; no
        message is all zeros, it starts with a header)."""
        try:
            with self.open(key) as handle:
                while chunk := handle.read(1 << 16):
                    if chunk.count(0) != len(chunk):
                        return True
        except StoredBlobMissingError:
            return False
        return False

    def delete(self, key: str) -> None:
        """Remove the bytes; a missing segment is already deleted. Only the key's range
        goes: the caller makes sure no row names the key any more."""
        entry = _Entry.parse(key)
        path = self._segment_path(entry.segment)
        if entry.length is None:
            path.unlink(missing_ok=True)
            return
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return
        try:
            _erase(fd, entry.offset, entry.length)
            emptied = _only_zeros(fd)
        finally:
            os.close(fd)
        if emptied:  # every message of the segment deleted
            path.unlink(missing_ok=True)


class _Range(io.RawIOBase):
    """A read-only window on `length` bytes of an open file, from `offset`."""

    def __init__(self, handle: BinaryIO, offset: int, length: int) -> None:
        self._handle, self._position, self._end = handle, offset, offset + length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._end - self._position)
        if wanted <= 0:
            return 0
        data = os.pread(self._handle.fileno(), wanted, self._position)
        if len(data) < wanted:
            raise StoredBlobMissingError("The stored message is cut short in its segment.")
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._handle.close()
        super().close()


def mail_store_for(data_dir: Path) -> MailStore:
    return MailStore(data_dir / "mail")


def _write_all(fd: int, messages: Sequence[bytes]) -> None:
    """All of `messages`, one after another, in as few system calls as the kernel allows:
    a write per message from this thread waited for the GIL after each call, behind the
    thread reading the server (1.4 s for 10,000 messages against 0.16 s alone)."""
    pending = [memoryview(raw) for raw in messages if raw]
    while pending:
        written = os.writev(fd, pending[:_IOV_MAX])
        while written:
            if written >= len(pending[0]):
                written -= len(pending.pop(0))
            else:
                pending[0] = pending[0][written:]
                written = 0


def _libc_function(name: str) -> Callable[..., int] | None:
    """A Linux C library function through ctypes, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    with contextlib.suppress(OSError, AttributeError):
        function: Callable[..., int] = getattr(ctypes.CDLL(None, use_errno=True), name)
        return function
    return None


_FALLOCATE = _libc_function("fallocate")
if _FALLOCATE is not None:
    _FALLOCATE.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]  # type: ignore[attr-defined]
_PUNCH_HOLE = 0x02 | 0x01  # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE (linux/falloc.h)


def _erase(fd: int, offset: int, length: int) -> None:
    """Free the range's blocks (a hole), or where the file system cannot, overwrite it with
    zeros: either way the deleted message's bytes are gone from the file."""
    if length == 0:
        return
    if _FALLOCATE is not None and _FALLOCATE(fd, _PUNCH_HOLE, offset, length) == 0:
        return
    position, end = offset, offset + length
    while position < end:
        position += os.pwrite(fd, _ZEROS[: min(len(_ZEROS), end - position)], position)
    os.fsync(fd)


def _only_zeros(fd: int) -> bool:
    """Whether every message of the segment is erased: no byte but zeros in its data
    regions. Holes are skipped (SEEK_DATA); a hole frees only the blocks wholly inside one
    deletion, so blocks two messages share stay allocated, zeroed, until both are gone. A
    segment with a message left stops at that message's first byte (a header, never 0)."""
    position, size = 0, os.fstat(fd).st_size
    while position < size:
        try:
            position = os.lseek(fd, position, os.SEEK_DATA)
        except OSError:  # ENXIO: only a hole after `position`
            return True
        end = os.lseek(fd, position, os.SEEK_HOLE)
        while position < end:
            chunk = os.pread(fd, min(len(_ZEROS), end - position), position)
            if not chunk:
                return True
            if chunk.count(0) != len(chunk):
                return False
            position += len(chunk)
    return True


def _make_durable(target: Path, new_directories: Sequence[Path]) -> None:
    """The segment's data and its name on disk: an fsync of the file, of its directory, and
    of the store's root (and its parent) when the shard directory is new. Not syncfs(2):
    with one file per batch it saves nothing, and it also waits for every other program's
    dirty data on the file system (such as a database's checkpoint)."""
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    for directory in (target.parent, *new_directories):
        fsync_directory(directory)
