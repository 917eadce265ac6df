"""Receiving: mirrored folders and messages, sync state, search text, POP3 UIDLs, migrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from postroom.db.base import Base, TenantOwned, UtcDateTime, enum_column, utcnow
from postroom.enums import FolderRole, JobStatus, MigrationItemStatus


class MailFolder(TenantOwned, Base):
    """A folder of an account: mirrored from IMAP (LIST), or local for POP3 accounts."""

    __tablename__ = "mail_folders"
    __table_args__ = (UniqueConstraint("account_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(String(1000))  # the server's name (decoded UTF-7/UTF-8)
    name: Mapped[str] = mapped_column(String(500))  # the last part, for display
    delimiter: Mapped[str | None] = mapped_column(String(4), default=None)
    role: Mapped[FolderRole] = enum_column(FolderRole, "role", default=FolderRole.OTHER)
    selectable: Mapped[bool] = mapped_column(Boolean, default=True)
    # POP3 accounts have only local folders; so has an IMAP account's folder the server lost.
    is_local: Mapped[bool] = mapped_column(Boolean, default=False)

    # IMAP sync checkpoint (D1): every UID <= synced_uid of this UIDVALIDITY is stored.
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger, default=None)
    uidnext: Mapped[int | None] = mapped_column(BigInteger, default=None)
    synced_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    highest_modseq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    server_message_count: Mapped[int | None] = mapped_column(Integer, default=None)
    last_synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MailMessage(TenantOwned, Base):
    """One received (or mirrored) message: headers parsed here, raw bytes in the blob store."""

    __tablename__ = "mail_messages"
    __table_args__ = (
        # IMAP identity (D1). NULLs are distinct, so POP3 rows (uid NULL) never collide.
        UniqueConstraint("folder_id", "uidvalidity", "uid"),
        # POP3 identity.
        UniqueConstraint("account_id", "pop_uidl"),
        Index("ix_mail_messages_listing", "folder_id", "sort_date"),
        # Unread counts per folder read this index alone.
        Index("ix_mail_messages_unread", "folder_id", "seen"),
        Index("ix_mail_messages_thread", "company_id", "thread_root"),
        Index("ix_mail_messages_msgid", "account_id", "message_id_header"),
        # Messages still to index (body text, search row): a handful at most, so a fetch
        # finds them without reading the whole account (docs/decisions.md).
        Index(
            "ix_mail_messages_unindexed",
            "account_id",
            "id",
            sqlite_where=text("indexed = 0"),
            postgresql_where=text("indexed = false"),
        ),
        # New mail whose rules (contacts, tasks, notifications, autoresponder) have not run.
        Index(
            "ix_mail_messages_rules_pending",
            "account_id",
            "id",
            sqlite_where=text("rules_pending = 1"),
            postgresql_where=text("rules_pending = true"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    folder_id: Mapped[int] = mapped_column(
        ForeignKey("mail_folders.id", ondelete="CASCADE"), index=True
    )
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger, default=None)
    uid: Mapped[int | None] = mapped_column(BigInteger, default=None)
    pop_uidl: Mapped[str | None] = mapped_column(String(255), default=None)
    modseq: Mapped[int | None] = mapped_column(BigInteger, default=None)

    # The raw RFC 5322 bytes exactly as received, in the blob store (storage/).
    blob_key: Mapped[str] = mapped_column(String(200))
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)

    # Parsed headers; a broken header leaves its field empty and a note in parse_defects.
    message_id_header: Mapped[str | None] = mapped_column(String(998), default=None)
    in_reply_to: Mapped[str | None] = mapped_column(String(998), default=None)
    references: Mapped[str | None] = mapped_column(Text, default=None)
    # The Message-ID a thread hangs from: the first of References, else In-Reply-To, else own.
    thread_root: Mapped[str | None] = mapped_column(String(998), default=None)
    subject: Mapped[str] = mapped_column(Text, default="")
    from_address: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(320), default="")
    to_addresses: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    cc_addresses: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    reply_to: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    sent_date: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)  # Date:
    internal_date: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # What lists sort by: the Date header, else the server's arrival time, else stored_at.
    sort_date: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    snippet: Mapped[str] = mapped_column(String(500), default="")
    has_attachments: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{"part": "2", "filename": …, "content_type": …, "size": …}]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    parse_defects: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    auto_submitted: Mapped[bool] = mapped_column(Boolean, default=False)  # RFC 3834 and lists
    # Body parsed and the search row (MailText) written: the second stage of ingest.
    indexed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Stored as new mail, the account's rules still to run (services/new_mail.py): the rows
    # are committed, and listed, before the rules run in a transaction of their own.
    rules_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    # Flags (synced both ways with IMAP).
    seen: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    draft: Mapped[bool] = mapped_column(Boolean, default=False)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)

    # Found by the first import of the account (history): no autoresponder, tasks or
    # notifications for it (D1).
    from_history: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where a message moved to Deleted Items came from (to restore it).
    deleted_from_folder_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_folders.id", ondelete="SET NULL"), default=None
    )


class MailText(TenantOwned, Base):
    """The searchable text of a message. Indexed by FTS5 (SQLite) or a tsvector (PostgreSQL).

    The migration creates the index: on SQLite the external-content FTS5 table `mail_search`
    kept in step by triggers; on PostgreSQL the generated column `search_vector` with a GIN
    index. Neither is mapped here; services/search.py queries them.
    """

    __tablename__ = "mail_texts"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(Text, default="")
    addresses: Mapped[str] = mapped_column(Text, default="")  # names and addresses, one line
    body: Mapped[str] = mapped_column(Text, default="")  # plain text (HTML turned into text)


class MailSyncState(TenantOwned, Base):
    """Per account: the fetch lock (held across workers), schedule, progress and history line."""

    __tablename__ = "mail_sync_states"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    # One fetch per account at a time (D1): whoever holds an unexpired lease.
    lock_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lock_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    next_fetch_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None, index=True)
    fetch_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    backoff_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # Progress of the running (or last) fetch, for the API, UI and CLI.
    phase: Mapped[str] = mapped_column(String(50), default="idle")
    progress_folder: Mapped[str | None] = mapped_column(String(1000), default=None)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    last_fetch_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_fetch_finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_new_messages: Mapped[int] = mapped_column(Integer, default=0)
    # Set when the first full import finishes; mail stored before that is history.
    first_import_done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    supports_idle: Mapped[bool | None] = mapped_column(Boolean, default=None)
    # One IDLE watcher per account across workers: the worker holding an unexpired lease
    # watches it (renewed at each refresh of the watched set; services/sync_schedule.py).
    idle_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    idle_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class Pop3SeenUidl(TenantOwned, Base):
    """Every UIDL ever downloaded, so a message is never downloaded twice, even once purged."""

    __tablename__ = "pop3_seen_uidls"
    __table_args__ = (UniqueConstraint("account_id", "uidl"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    uidl: Mapped[str] = mapped_column(String(255))
    downloaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    deleted_on_server: Mapped[bool] = mapped_column(Boolean, default=False)


class MailMigration(TenantOwned, Base):
    """Upload of chosen local messages of one account to a folder of another (D4)."""

    __tablename__ = "mail_migrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    target_account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    target_folder: Mapped[str] = mapped_column(String(1000))
    deactivate_source: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[JobStatus] = enum_column(JobStatus, "status", default=JobStatus.PENDING)
    total: Mapped[int] = mapped_column(Integer, default=0)
    copied: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class MailMigrationItem(TenantOwned, Base):
    """One message of a migration; its status is the checkpoint a resumed job starts from."""

    __tablename__ = "mail_migration_items"
    __table_args__ = (UniqueConstraint("migration_id", "mail_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    migration_id: Mapped[int] = mapped_column(
        ForeignKey("mail_migrations.id", ondelete="CASCADE"), index=True
    )
    mail_message_id: Mapped[int] = mapped_column(ForeignKey("mail_messages.id", ondelete="CASCADE"))
    status: Mapped[MigrationItemStatus] = enum_column(
        MigrationItemStatus, "status", default=MigrationItemStatus.PENDING
    )
    error: Mapped[str | None] = mapped_column(Text, default=None)


class AutoreplySent(TenantOwned, Base):
    """When the autoresponder last answered a sender, so it answers once per period (RFC 3834)."""

    __tablename__ = "autoreply_sent"
    __table_args__ = (UniqueConstraint("account_id", "sender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(320))  # lower-cased address
    replied_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MailPurged(TenantOwned, Base):
    """A message purged in Postroom whose server copy was kept (A7 option off): the sync must
    not bring it back, neither by its UID nor, after a UIDVALIDITY change, by its content."""

    __tablename__ = "mail_purged"
    __table_args__ = (UniqueConstraint("folder_id", "uidvalidity", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    folder_id: Mapped[int] = mapped_column(ForeignKey("mail_folders.id", ondelete="CASCADE"))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger, default=None)
    uid: Mapped[int | None] = mapped_column(BigInteger, default=None)
    message_id_header: Mapped[str | None] = mapped_column(String(998), default=None)
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    purged_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MailArrival(TenantOwned, Base):
    """The content of every message the new-mail rules have seen, per account: a copy the
    user's own mail program moves into another folder is stored again by the sync, but is
    not new mail (no second task, notification or autoreply)."""

    __tablename__ = "mail_arrivals"
    __table_args__ = (UniqueConstraint("account_id", "content_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    content_sha256: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
