"""What one running fetch carries: the account, its options, the lease, progress counters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, lazyload

from postroom.config import Settings
from postroom.db.base import utcnow
from postroom.db.models import Account
from postroom.db.models_mailbox import MailSyncState
from postroom.services import sync_lock
from postroom.services.runtime import Runtime
from postroom.services.sync_connect import IncomingAccount
from postroom.services.sync_progress import SyncPhase, set_progress
from postroom.storage.mailstore import MailStore, mail_store_for


@dataclass(frozen=True)
class FetchOptions:
    batch_messages: int = 500
    batch_bytes: int = 16 * 1024 * 1024
    connections: int = 2  # IMAP connections one big folder is downloaded over
    # A folder with fewer new messages than this is fetched over one connection: a second
    # login costs more than it saves.
    parallel_threshold: int = 1000
    lease_seconds: float = 120.0
    timeout_seconds: float = 120.0  # any one server step (a batch: plus its size at 64 KB/s)
    index_batch: int = 200
    parse_processes: int = 0  # worker processes that parse bodies for indexing (parse_pool)
    # A fetched batch at least this big has its headers parsed in those processes too.
    headers_in_pool_min_batch: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchOptions:
        return cls(
            batch_messages=settings.fetch_batch_messages,
            batch_bytes=settings.fetch_batch_bytes,
            connections=settings.fetch_connections,
            lease_seconds=settings.fetch_lease_seconds,
            timeout_seconds=settings.fetch_timeout_seconds,
            parse_processes=settings.parse_processes,
        )

    def batch_timeout(self, size: int) -> float:
        return self.timeout_seconds + size / 65536


@dataclass(frozen=True)
class Progress:
    """What a progress callback (the CLI's bar) is told after each batch."""

    phase: SyncPhase
    folder: str | None
    done: int
    total: int


@dataclass
class FetchContext:
    runtime: Runtime
    account: IncomingAccount
    owner: str  # the lease holder: one fetch
    options: FetchOptions
    from_history: bool  # the account's first import: no autoresponder, tasks, notifications
    started_at: datetime = field(default_factory=utcnow)
    on_progress: Callable[[Progress], None] | None = None
    store: MailStore = field(init=False)
    stored: int = 0  # messages stored by this fetch
    done: int = 0
    total: int = 0
    _told: Progress | None = field(default=None, init=False)  # for on_progress, once committed

    def __post_init__(self) -> None:
        self.store = mail_store_for(self.runtime.settings.data_dir)

    @property
    def company_id(self) -> int:
        return self.account.company_id

    @property
    def account_id(self) -> int:
        return self.account.account_id

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A transaction of the account's company that commits only while the lease is ours;
        progress recorded in it reaches `on_progress` once it has committed."""
        self._told = None
        with self.runtime.tenant(self.company_id) as session:
            sync_lock.renew(
                session,
                account_id=self.account_id,
                owner=self.owner,
                lease_seconds=self.options.lease_seconds,
            )
            yield session
        told, self._told = self._told, None
        if told is not None and self.on_progress is not None:
            self.on_progress(told)

    def progress(self, session: Session, phase: SyncPhase, folder: str | None = None) -> None:
        """Record progress in the account's sync state (in the caller's transaction)."""
        state = session.get(MailSyncState, self.account_id)
        if state is not None:
            set_progress(state, phase, folder=folder, done=self.done, total=self.total)
        self._told = Progress(phase, folder, self.done, self.total)


def fetched_account(session: Session, account_id: int) -> Account | None:
    """The account a fetch works on, without its grants and projects (loaded with it by
    default, two more queries in each of a fetch's transactions; no fetch step reads them)."""
    return session.get(Account, account_id, options=[lazyload("*")])
