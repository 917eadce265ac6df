"""Submitting messages to the outbox (C1, C3, C5) and reading them back."""

# A message is built completely (sender chosen, MIME made) and written with its recipients in
# the caller's transaction, so the API answers 202 only once it is committed; the worker sends
# it later. Who sees a message: its sender, users who may see the account it goes from, and
# company administrators (docs/decisions.md).

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postroom.addresses import InvalidAddressError, ascii_address
from postroom.db.base import utcnow
from postroom.db.models import Account, User
from postroom.db.models_outbox import OutboxBody, OutboxMessage, OutboxRecipient
from postroom.enums import (
    DocumentKind,
    MessageStatus,
    RecipientStatus,
    SentCopyStatus,
)
from postroom.errors import ConflictError, FieldProblem, NotFoundError, ValidationError
from postroom.mail import mime
from postroom.mail.mime_checks import MimeLimits, bare_message_id
from postroom.services import (
    access,
    accounts,
    files,
    projects,
    provider_rules,
    relay_identity,
    routing,
)
from postroom.services.extra_headers import add_headers
from postroom.services.message_schemas import DraftWrite, MessageCreate, Recipient, RecipientIn
from postroom.services.runtime import Runtime
from postroom.storage.files import StoredBlobMissingError

# Enough of a stored message to read its References and Message-ID.
_HEADER_BYTES = 64 * 1024
_MAX_KEY_CHARS = 200  # the column's size
_ATTACHMENT_FIELD = re.compile(r"^attachments\[(\d+)\]$")


@dataclass(frozen=True)
class InlineAttachment:
    """A file sent with the request itself (multipart/form-data), not stored before."""

    filename: str
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class MessageFilter:
    status: MessageStatus | None = None
    account_id: int | None = None
    project_id: int | None = None
    document_kind: DocumentKind | None = None


def limits_of(runtime: Runtime) -> MimeLimits:
    settings = runtime.settings
    return MimeLimits(
        max_recipients=settings.max_recipients,
        max_attachment_bytes=settings.max_attachment_bytes,
        max_message_bytes=settings.max_message_bytes,
    )


def _mailbox(value: Recipient) -> mime.Mailbox:
    if isinstance(value, RecipientIn):
        return mime.Mailbox(value.address, value.name)
    return mime.Mailbox(value)


def _stored_attachments(
    session: Session, actor: User, request: MessageCreate, runtime: Runtime
) -> list[mime.Attachment]:
    found: list[mime.Attachment] = []
    for index, ref in enumerate(request.attachments):
        try:
            row = files.get_file(session, actor=actor, file_id=ref.file_id)
        except NotFoundError as exc:
            message = f"There is no file {ref.file_id}; upload it first (POST /files)."
            raise ValidationError.for_field(
                f"attachments[{index}]", message, "unknown_file"
            ) from exc
        try:
            data = files.read_file(runtime.settings, row)
        except StoredBlobMissingError as exc:
            message = f"The content of file {ref.file_id} is missing; upload it again."
            raise ValidationError.for_field(
                f"attachments[{index}]", message, "file_missing"
            ) from exc
        found.append(mime.Attachment(ref.filename or row.filename, row.content_type, data))
    return found


def _inline_attachments(uploads: Sequence[InlineAttachment]) -> list[mime.Attachment]:
    return [
        mime.Attachment(
            item.filename, files.content_type_of(item.filename, item.content_type), item.data
        )
        for item in uploads
    ]


def _references(session: Session, actor: User, request: MessageCreate) -> tuple[str, ...]:
    """The thread a reply continues: as given, else the answered message's, if it is ours."""
    if request.references or request.in_reply_to is None:
        return tuple(request.references)
    parent = bare_message_id(request.in_reply_to)
    head = session.scalar(
        select(func.substr(OutboxBody.mime, 1, _HEADER_BYTES))
        .join(OutboxMessage, OutboxMessage.id == OutboxBody.message_id)
        .where(OutboxMessage.message_id == parent, _visible(actor))
    )
    return mime.thread_references(head) if head else (request.in_reply_to,)


def _draft(
    request: MessageCreate,
    choice: routing.SenderChoice,
    attachments: list[mime.Attachment],
    references: tuple[str, ...],
) -> mime.MessageDraft:
    identity, account = choice.identity, choice.account
    reply_to = request.reply_to if request.reply_to is not None else identity.reply_to
    return mime.MessageDraft(
        sender=mime.Mailbox(identity.from_address, identity.display_name),
        envelope_from=identity.envelope_from,
        to=tuple(_mailbox(r) for r in request.to),
        cc=tuple(_mailbox(r) for r in request.cc),
        bcc=tuple(_mailbox(r) for r in request.bcc),
        reply_to=_mailbox(reply_to) if reply_to else None,
        subject=request.subject,
        text=request.text,
        html=request.html,
        header_html=account.header_html if account is not None else "",
        signature_html=account.signature_html if account is not None else "",
        attachments=tuple(attachments),
        in_reply_to=request.in_reply_to,
        references=references,
    )


def _sent_copy_status(account: Account | None) -> SentCopyStatus:
    """PENDING where a Sent copy will be needed (C4); the delivery confirms it once sent."""
    if account is not None and provider_rules.needs_sent_copy(account):
        return SentCopyStatus.PENDING
    return SentCopyStatus.NOT_NEEDED


def _outbox_row(
    actor: User,
    request: MessageCreate,
    choice: routing.SenderChoice,
    built: mime.BuiltMessage,
    runtime: Runtime,
    key: str | None,
) -> OutboxMessage:
    now = utcnow()
    return OutboxMessage(
        created_by_user_id=actor.id,
        account_id=choice.account.id if choice.account is not None else None,
        via_relay=choice.via_relay,
        project_id=request.project_id,
        document_kind=request.document_kind,
        from_own_template=request.from_own_template,
        idempotency_key=key,
        status=MessageStatus.QUEUED,
        message_id=built.message_id,
        envelope_from=built.envelope_from,
        subject=request.subject,
        body=OutboxBody(mime=built.raw),
        size=len(built.raw),
        next_attempt_at=now,
        deadline_at=now + timedelta(hours=runtime.settings.send_retry_deadline_hours),
        sent_copy_status=_sent_copy_status(choice.account),
        created_at=now,
        recipients=[
            OutboxRecipient(address=r.address, kind=r.kind, status=RecipientStatus.PENDING)
            for r in built.recipients
        ],
    )


def _upload_fields_named(exc: ValidationError, stored: int) -> ValidationError:
    """The builder numbers every attachment; files sent with the request are `files[i]`."""

    def renamed(problem: FieldProblem) -> FieldProblem:
        match = _ATTACHMENT_FIELD.match(problem.field)
        if match is None or int(match[1]) < stored:
            return problem
        field = f"files[{int(match[1]) - stored}]"
        message = problem.message.replace(problem.field, field)
        return FieldProblem(field, message, problem.code)

    problems = [renamed(p) for p in exc.problems]
    return ValidationError(
        "The message cannot be sent as given: " + " ".join(p.message for p in problems), problems
    )


def _idempotency_key(request: MessageCreate, header: str | None) -> str | None:
    if header is not None and request.idempotency_key not in (None, header):
        raise ValidationError.for_field(
            "idempotency_key",
            "The Idempotency-Key header and the idempotency_key field differ; send one.",
            "two_keys",
        )
    key = header if header is not None else request.idempotency_key
    if key is not None and not 0 < len(key) <= _MAX_KEY_CHARS:
        raise ValidationError.for_field(
            "idempotency_key", "An idempotency key has 1 to 200 characters.", "invalid"
        )
    return key


def _envelope_addresses(request: MessageCreate) -> set[str]:
    addresses = set()
    for value in (*request.to, *request.cc, *request.bcc):
        raw = _mailbox(value).address
        try:
            addresses.add(ascii_address(raw).lower())
        except InvalidAddressError:
            addresses.add(raw.lower())
    return addresses


def _replay(existing: OutboxMessage, actor: User, request: MessageCreate) -> OutboxMessage:
    """The message made earlier with this key, if it is the same request of the same user."""
    if existing.created_by_user_id != actor.id:
        raise ConflictError(
            "This idempotency key was already used by another user of the company; "
            "use a new key for a new message.",
            code="idempotency_key_taken",
        )
    same = existing.subject == request.subject and {
        r.address.lower() for r in existing.recipients
    } == _envelope_addresses(request)
    if not same:
        # draft-ietf-httpapi-idempotency-key-header §2.7: a reused key with another payload.
        raise ValidationError.for_field(
            "idempotency_key",
            f"This idempotency key was used for another message (id {existing.id}); "
            "use a new key for a new message.",
            "idempotency_key_reused",
        )
    return existing


def check_links(
    session: Session,
    actor: User,
    request: MessageCreate | DraftWrite,
    senders: routing.SenderCache | None = None,
) -> None:
    """The project and account named exist in the company and are the actor's to see.
    `senders`: the rules' cache, so that they read project and account only once."""
    if request.project_id is not None:
        try:
            if senders is not None:
                senders.project(session, request.project_id)
            else:
                projects.get_project(session, request.project_id)
        except NotFoundError as exc:
            raise ValidationError.for_field("project_id", exc.message, "unknown_project") from exc
    if request.account_id is not None:
        try:
            if senders is not None:
                senders.account(session, actor, request.account_id)
            else:
                accounts.get_account(session, actor=actor, account_id=request.account_id)
        except NotFoundError as exc:
            raise ValidationError.for_field("account_id", exc.message, "unknown_account") from exc


def _by_key(session: Session, key: str) -> OutboxMessage | None:
    return session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))


def _made_before(
    session: Session, key: str | None, batch_keys: dict[str, OutboxMessage] | None
) -> OutboxMessage | None:
    if key is None:
        return None
    return batch_keys.get(key) if batch_keys is not None else _by_key(session, key)


def messages_by_key(session: Session, keys: Sequence[str]) -> dict[str, OutboxMessage]:
    """The messages already made with any of `keys` (one query; a batch has ≤ 500)."""
    if not keys:
        return {}
    found = session.scalars(
        select(OutboxMessage).where(OutboxMessage.idempotency_key.in_(set(keys)))
    )
    return {row.idempotency_key: row for row in found if row.idempotency_key is not None}


def submit_message(
    session: Session,
    *,
    actor: User,
    request: MessageCreate,
    runtime: Runtime,
    uploads: Sequence[InlineAttachment] = (),
    idempotency_key: str | None = None,
    extra_headers: Sequence[tuple[str, str]] = (),
    senders: routing.SenderCache | None = None,
    flush: bool = True,
    batch_keys: dict[str, OutboxMessage] | None = None,
) -> OutboxMessage:
    """Choose the sender, build the MIME and queue it with its recipients, in `session`'s
    transaction. The same idempotency key returns the message made the first time.
    `extra_headers`: (name, folded value) fields a service adds, e.g. List-Unsubscribe.
    `senders`: the sender rules' reads, shared by the messages of one transaction.
    `flush=False`: the row is only added (no id yet); the caller flushes many at once.
    `batch_keys`: a batch's keys already looked up in one query (message_batch); the new row
    is added to it, and a key taken meanwhile by another transaction fails the batch's flush
    instead of being caught here one savepoint per message."""
    key = _idempotency_key(request, idempotency_key)
    if (existing := _made_before(session, key, batch_keys)) is not None:
        return _replay(existing, actor, request)
    senders = senders if senders is not None else routing.SenderCache()
    check_links(session, actor, request, senders)
    choice = routing.choose_sender(
        session,
        actor=actor,
        project_id=request.project_id,
        account_id=request.account_id,
        document_kind=request.document_kind,
        from_own_template=request.from_own_template,
        use_relay=request.use_relay,
        settings=runtime.settings,
        cache=senders,
    )
    attachments = _stored_attachments(session, actor, request, runtime)
    attachments += _inline_attachments(uploads)
    draft = _draft(request, choice, attachments, _references(session, actor, request))
    try:
        built = mime.build_message(
            draft, limits=limits_of(runtime), message_id_domain=runtime.settings.message_id_domain
        )
    except ValidationError as exc:
        raise _upload_fields_named(exc, len(request.attachments)) from None
    if extra_headers:  # a campaign's List-Unsubscribe (issue 7), before the relay signs it
        built = add_headers(built, extra_headers)
    if choice.via_relay:  # issue 9: the relay's From settled and DKIM-signed before storing
        built = relay_identity.finish_relay_message(
            session,
            actor=actor,
            built=built,
            box=runtime.secret_box,
            settings=runtime.settings,
            reply_to_given=request.reply_to is not None,
        )
    row = _outbox_row(actor, request, choice, built, runtime, key)
    if key is not None and batch_keys is not None:
        batch_keys[key] = row
    if key is None or batch_keys is not None:
        session.add(row)
        if flush:
            session.flush()
        return row
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Two requests with one key at once: the other committed first; answer with its message.
        existing = _by_key(session, key)
        if existing is None:
            raise
        return _replay(existing, actor, request)
    return row


def _visible(actor: User) -> ColumnElement[bool]:
    if actor.is_admin:
        return true()
    seen_accounts = select(Account.id).where(access.visible_accounts_condition(actor))
    return or_(
        OutboxMessage.created_by_user_id == actor.id,
        OutboxMessage.account_id.in_(seen_accounts),
    )


def get_message(session: Session, *, actor: User, message_id: int) -> OutboxMessage:
    row = session.scalar(
        select(OutboxMessage).where(OutboxMessage.id == message_id, _visible(actor))
    )
    if row is None:
        raise NotFoundError(f"Message {message_id} does not exist.")
    return row


def _filter_conditions(actor: User, filters: MessageFilter) -> list[ColumnElement[bool]]:
    conditions = [_visible(actor)]
    if filters.status is not None:
        conditions.append(OutboxMessage.status == filters.status)
    if filters.account_id is not None:
        conditions.append(OutboxMessage.account_id == filters.account_id)
    if filters.project_id is not None:
        conditions.append(OutboxMessage.project_id == filters.project_id)
    if filters.document_kind is not None:
        conditions.append(OutboxMessage.document_kind == filters.document_kind)
    return conditions


def list_messages(
    session: Session,
    *,
    actor: User,
    filters: MessageFilter = MessageFilter(),
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[OutboxMessage], int]:
    """Newest first; the MIME of each message (outbox_bodies) stays in the database."""
    conditions = _filter_conditions(actor, filters)
    total = session.scalar(select(func.count()).select_from(OutboxMessage).where(*conditions))
    rows = session.scalars(
        select(OutboxMessage)
        .where(*conditions)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0
