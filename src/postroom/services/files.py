"""Stored files (invoice PDFs and other attachments): upload, read, delete, each with its row."""

from __future__ import annotations

import itertools
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from postroom.config import Settings
from postroom.db.models import User
from postroom.db.models_outbox import StoredFile
from postroom.errors import FieldProblem, NotFoundError, ValidationError
from postroom.mail import mime_checks
from postroom.services.account_setup import Begin
from postroom.services.runtime import Runtime
from postroom.storage.files import FileStore, FileTooLargeError, StoredBlobMissingError

GENERIC_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: the name and type the client gave, and its bytes to read."""

    filename: str
    content_type: str | None
    source: BinaryIO


def file_store(settings: Settings) -> FileStore:
    return FileStore(settings.data_dir / "files")


def content_type_of(filename: str, given: str | None) -> str:
    """The type the client gave, unless it is missing or generic: then the name's (or generic)."""
    given = (given or "").split(";", 1)[0].strip().lower()
    if given and given != GENERIC_TYPE:
        return given
    guessed, _encoding = mimetypes.guess_type(filename, strict=False)
    return guessed or GENERIC_TYPE


def _checked_name(filename: str, field: str) -> str:
    problems = list(mime_checks.text_field(field, filename, mime_checks.MAX_FILENAME_CHARS))
    if not filename.strip():
        problems.append(FieldProblem(field, "The file needs a name.", "required"))
    if problems:
        raise ValidationError(problems[0].message, problems)
    return filename


def _visible(actor: User) -> ColumnElement[bool]:
    """A file is its uploader's; company administrators see every file of the company."""
    return true() if actor.is_admin else StoredFile.uploaded_by_user_id == actor.id


def _store(store: FileStore, upload: Upload, max_bytes: int, field: str) -> tuple[str, int, str]:
    try:
        blob = store.put(upload.source, max_bytes=max_bytes)
    except FileTooLargeError as exc:
        raise ValidationError.for_field(
            field,
            f"The file is larger than {mime_checks.megabytes(exc.limit)}, the most an "
            "attachment may have.",
            "too_large",
        ) from exc
    return blob.key, blob.size, blob.sha256


def upload_file(begin: Begin, settings: Settings, upload: Upload) -> StoredFile:
    """Store the bytes, then the row; if the row is not committed, the bytes are removed."""
    filename = _checked_name(upload.filename, "file")
    content_type = content_type_of(filename, upload.content_type)
    if mime_checks.header_text_problem(content_type) is not None:
        raise ValidationError.for_field("file", "The file's content type is not valid.")
    store = file_store(settings)
    key = ""
    try:
        with begin() as tx:  # authenticates before a byte is written
            key, size, sha256 = _store(store, upload, settings.max_attachment_bytes, "file")
            row = StoredFile(
                uploaded_by_user_id=tx.actor.id,
                filename=filename,
                content_type=content_type,
                size=size,
                sha256=sha256,
                storage_key=key,
            )
            tx.session.add(row)
            tx.session.flush()
        return row
    except BaseException:
        if key:
            store.delete(key)
        raise


def get_file(session: Session, *, actor: User, file_id: int) -> StoredFile:
    row = session.scalar(select(StoredFile).where(StoredFile.id == file_id, _visible(actor)))
    if row is None:
        raise NotFoundError(f"File {file_id} does not exist.")
    return row


def list_files(
    session: Session, *, actor: User, limit: int = 50, offset: int = 0
) -> tuple[list[StoredFile], int]:
    condition = _visible(actor)
    total = session.scalar(select(func.count()).select_from(StoredFile).where(condition)) or 0
    rows = session.scalars(
        select(StoredFile)
        .where(condition)
        .order_by(StoredFile.created_at.desc(), StoredFile.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def read_file(settings: Settings, row: StoredFile) -> bytes:
    return file_store(settings).read(row.storage_key)


def file_path(settings: Settings, row: StoredFile) -> Path:
    try:
        return file_store(settings).path(row.storage_key)
    except StoredBlobMissingError as exc:
        raise NotFoundError(f"The content of file {row.id} is missing; upload it again.") from exc


def delete_file(begin: Begin, settings: Settings, *, file_id: int) -> None:
    """The row goes first; the bytes only once that is committed, so no row loses its file.

    Messages already built keep their copy: the outbox holds the whole MIME.
    """
    with begin() as tx:
        row = get_file(tx.session, actor=tx.actor, file_id=file_id)
        key = row.storage_key
        tx.session.delete(row)
    file_store(settings).delete(key)


ORPHAN_AGE_SECONDS = 3600  # far longer than any upload takes
_SWEEP_CHUNK = 500


def sweep_orphaned_files(
    runtime: Runtime, *, older_than_seconds: float = ORPHAN_AGE_SECONDS
) -> int:
    """Delete stored bytes that no file row names: left by a process killed between writing
    an upload and committing its row, or between deleting a row and its bytes. Young files
    are left alone, since their upload may still be committing. Returns how many went."""
    store = file_store(runtime.settings)
    removed = 0
    keys = store.stale_keys(older_than_seconds)
    while chunk := list(itertools.islice(keys, _SWEEP_CHUNK)):
        with runtime.platform() as session:
            known = set(
                session.scalars(
                    select(StoredFile.storage_key).where(StoredFile.storage_key.in_(chunk))
                )
            )
        for key in set(chunk) - known:
            store.delete(key)
            removed += 1
    return removed
