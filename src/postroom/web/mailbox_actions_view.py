"""What the mail pages say about actions: notices after a change, refusals in the service's
words, and each account's fetch state (last fetch, last error, a running sync's progress)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from postroom.errors import PostroomError, ValidationError
from postroom.services.sync_progress import SyncPhase, SyncStatus
from postroom.web.auth import safe_next
from postroom.web.i18n import N_, Translator

DONE_PARAM = "done"
COUNT_PARAM = "n"
# After a change the page says what was done; `done` names one of these, never free text.
NOTICES = {
    "deleted": N_("Moved to Deleted Items: {n}"),
    "restored": N_("Restored to their folders: {n}"),
    "purged": N_("Deleted for good: {n}"),
    "moved": N_("Moved: {n}"),
    "read": N_("Marked as read: {n}"),
    "unread": N_("Marked as unread: {n}"),
    "flagged": N_("Flagged: {n}"),
    "unflagged": N_("Flag removed: {n}"),
    "fetch": N_("Fetching requested: new mail shows here as soon as it has been fetched."),
    "folder_created": N_("Folder created"),
    "folder_renamed": N_("Folder renamed"),
    "folder_deleted": N_("Folder deleted"),
}
# The headline of a refusal; the service's own sentence follows it.
REFUSED = {
    "delete": N_("The messages were not moved to Deleted Items."),
    "restore": N_("The messages were not restored."),
    "purge": N_("The messages were not deleted for good."),
    "move": N_("The messages were not moved."),
    "flags": N_("The flags were not changed."),
    "fetch": N_("The account will not be fetched."),
    "folder_create": N_("The folder was not created."),
    "folder_rename": N_("The folder was not renamed."),
    "folder_delete": N_("The folder was not deleted."),
}
NOTHING_CHOSEN = N_("Tick at least one message first.")
NO_FOLDER = N_("Choose the folder to move the messages to.")
PURGE_REFUSED_PL = N_(
    "Purging mail from Deleted Items needs the “permanently delete mail” permission, which "
    "you do not have. It can be done by the company administrators and by users with that "
    "permission: {names}. An administrator can also give you the permission."
)
PHASES = {
    SyncPhase.QUEUED.value: N_("Waiting for a worker to fetch…"),
    SyncPhase.CONNECTING.value: N_("Connecting to the server…"),
    SyncPhase.FOLDERS.value: N_("Reading the folder list…"),
    SyncPhase.FETCHING.value: N_("Fetching messages…"),
    SyncPhase.INDEXING.value: N_("Making new mail searchable…"),
}
REFRESH_SECONDS = 2  # how often a fetch state that is busy asks for itself (htmx polling)


@dataclass(frozen=True)
class Notice:
    """A line at the top of the page: what was done, or why not (`error`)."""

    text: str
    detail: str = ""
    error: bool = False


def with_done(url: str, key: str, count: int | None = None) -> str:
    """`url` (a path on this site) with the notice to show after the redirect."""
    parts = urlsplit(safe_next(url))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in (DONE_PARAM, COUNT_PARAM)]
    query.append((DONE_PARAM, key))
    if count is not None:
        query.append((COUNT_PARAM, str(count)))
    return f"{parts.path}?{urlencode(query)}"


def done_notice(params: dict[str, str], translate: Translator) -> Notice | None:
    template = NOTICES.get(params.get(DONE_PARAM, ""))
    if template is None:
        return None
    count = params.get(COUNT_PARAM, "")
    return Notice(translate(template, n=int(count) if count.isdigit() else 0))


def service_words(exc: PostroomError) -> str:
    """The sentence the API answers with (problem+json `detail`, or its fields' messages)."""
    if isinstance(exc, ValidationError) and exc.problems:
        return " ".join(problem.message for problem in exc.problems)
    return exc.message


def refusal(
    action: str, exc: PostroomError, translate: Translator, purgers: str | None = None
) -> Notice:
    """The headline in the visitor's language, then the service's own sentence; the purge
    refusal (who may purge) is translated whole, with the same names."""
    detail = service_words(exc)
    if exc.code == "purge_not_allowed" and purgers is not None:
        detail = translate(PURGE_REFUSED_PL, names=purgers)
    return Notice(translate(REFUSED[action]), detail, error=True)


def status_code_of(exc: PostroomError) -> int:
    if isinstance(exc, PermissionError):
        return 403
    if isinstance(exc, ValidationError):
        return 422
    return 409


@dataclass(frozen=True)
class SyncView:
    """An account's fetching as the sidebar shows it."""

    account_id: int
    busy: bool  # queued or running: the block refreshes itself
    phase_label: str | None
    folder: str | None
    done: int
    total: int
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failed: bool
    needs_attention: bool


def sync_view(status: SyncStatus) -> SyncView:
    busy = status.running or status.phase == SyncPhase.QUEUED.value
    return SyncView(
        account_id=status.account_id,
        busy=busy,
        phase_label=PHASES.get(status.phase) if busy else None,
        folder=status.folder,
        done=status.done,
        total=status.total,
        last_success_at=status.last_success_at,
        last_error=status.last_error,
        last_error_at=status.last_error_at,
        failed=status.phase == SyncPhase.FAILED.value
        or (
            status.last_error_at is not None
            and (status.last_success_at is None or status.last_error_at > status.last_success_at)
        ),
        needs_attention=status.needs_attention,
    )
