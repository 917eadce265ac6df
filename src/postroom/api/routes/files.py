"""Stored files: upload (several-MB PDFs), metadata, download, delete; attached by id."""

from __future__ import annotations

from fastapi import APIRouter, Response, UploadFile, status
from fastapi.responses import FileResponse

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import Page
from postroom.api.schemas_messages import StoredFilePublic
from postroom.services import files

router = APIRouter(tags=["files"])


@router.post("/files", status_code=status.HTTP_201_CREATED, response_model=StoredFilePublic)
def upload_file(caller: CallerDep, file: UploadFile) -> StoredFilePublic:
    """multipart/form-data with one `file` part; at most POSTROOM_MAX_ATTACHMENT_BYTES."""
    upload = files.Upload(file.filename or "", file.content_type, file.file)
    row = files.upload_file(caller.begin, caller.runtime.settings, upload)
    return StoredFilePublic.model_validate(row)


@router.get("/files", response_model=Page[StoredFilePublic])
def list_files(caller: CallerDep, limit: Limit = 50, offset: Offset = 0) -> Page[StoredFilePublic]:
    """The caller's files (administrators: the company's), newest first."""
    with caller.begin() as tx:
        rows, total = files.list_files(tx.session, actor=tx.actor, limit=limit, offset=offset)
        items = [StoredFilePublic.model_validate(row) for row in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/files/{file_id}", response_model=StoredFilePublic)
def get_file(file_id: int, caller: CallerDep) -> StoredFilePublic:
    with caller.begin() as tx:
        return StoredFilePublic.model_validate(
            files.get_file(tx.session, actor=tx.actor, file_id=file_id)
        )


@router.get(
    "/files/{file_id}/content",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The bytes."}},
)
def download_file(file_id: int, caller: CallerDep) -> FileResponse:
    with caller.begin() as tx:
        row = files.get_file(tx.session, actor=tx.actor, file_id=file_id)
        path = files.file_path(caller.runtime.settings, row)
        filename, content_type = row.filename, row.content_type
    return FileResponse(
        path,
        media_type=content_type,
        filename=filename,
        content_disposition_type="attachment",  # never rendered in Postroom's origin
        headers={"X-Content-Type-Options": "nosniff"},
    )


@router.delete("/files/{file_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_file(file_id: int, caller: CallerDep) -> Response:
    """Messages already queued keep their attachment: the outbox holds the whole message."""
    files.delete_file(caller.begin, caller.runtime.settings, file_id=file_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
