"""Inputs of the mailbox operations: folder edits, message actions, migrations."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_IDS = 1000

FolderName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Field(description="The folder's own name (the last part of its path)."),
]
Ids = Annotated[
    list[int],
    Field(min_length=1, max_length=MAX_IDS, description=f"Message ids, at most {MAX_IDS}."),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FolderCreate(_Strict):
    name: FolderName
    parent_id: int | None = Field(default=None, description="Create it inside this folder.")


class FolderUpdate(_Strict):
    """Rename (`name`) and/or move (`parent_id`; null: to the top level)."""

    name: FolderName | None = None
    parent_id: int | None = None


class MailIds(_Strict):
    ids: Ids


class MailMoveOne(_Strict):
    folder_id: int


class MailMove(_Strict):
    ids: Ids
    folder_id: int


class MailFlags(_Strict):
    """Flags to set; those left out stay as they are."""

    seen: bool | None = None
    flagged: bool | None = None


class MailFlagsBulk(MailFlags):
    ids: Ids


class MigrationCreate(_Strict):
    """Which local messages of `source_account_id` to upload to a folder of the IMAP account
    `target_account_id` (D4): exactly one of `message_ids`, `folder_ids` or `all`."""

    source_account_id: int
    target_account_id: int
    target_folder: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
    ] = "INBOX"
    message_ids: list[int] | None = Field(default=None, min_length=1, max_length=100_000)
    folder_ids: list[int] | None = Field(default=None, min_length=1, max_length=1000)
    all: bool = Field(default=False, description="Every message except Deleted Items.")
    deactivate_source: bool = Field(
        default=True,
        description="When done, make the source account inactive: no more fetching, its "
        "mail still readable (A7).",
    )
