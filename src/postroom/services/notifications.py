"""In-app notifications: new mail per account and fetch (A7), read by their user; the feeds of
clients' contact persons (F1), read by the host application on their behalf."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from postroom.db.base import utcnow
from postroom.db.models import Account, GroupMember, User
from postroom.db.models_crm import Contact, Notification
from postroom.db.models_mailbox import MailMessage
from postroom.enums import Language
from postroom.errors import NotFoundError
from postroom.services import access
from postroom.services.guards import get_or_404

NEW_MAIL = "new_mail"
_TITLE_CHARS = 500
_LISTED_IDS = 50  # message ids kept in the notification's data, newest last


def _polish_messages(count: int) -> str:
    """1 nowa wiadomość, 2–4 nowe wiadomości (not 12–14), else nowych wiadomości."""
    if count == 1:
        return "1 nowa wiadomość"
    if count % 10 in (2, 3, 4) and count % 100 not in (12, 13, 14):
        return f"{count} nowe wiadomości"
    return f"{count} nowych wiadomości"


def account_label(account: Account) -> str:
    """Biuro <biuro@firma.pl>, or the bare address when the account has no name."""
    name = account.name.strip() or account.display_name.strip()
    return f"{name} <{account.email_address}>" if name else account.email_address


def new_mail_title(count: int, account: Account, language: Language) -> str:
    label = account_label(account)
    if language is Language.PL:
        return f"{_polish_messages(count)} w {label}"[:_TITLE_CHARS]
    noun = "message" if count == 1 else "messages"
    return f"{count} new {noun} in {label}"[:_TITLE_CHARS]


def _users_who_see(session: Session, account: Account) -> list[User]:
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
    groups: dict[int, set[int]] = defaultdict(set)
    for user_id, group_id in session.execute(select(GroupMember.user_id, GroupMember.group_id)):
        groups[user_id].add(group_id)
    return [user for user in users if access.can_see(user, account, groups[user.id])]


def notify_new_mail(
    session: Session, *, account: Account, messages: Sequence[MailMessage]
) -> list[Notification]:
    """One notification per user who may see the account, for the messages of one fetch."""
    if not messages or not account.notifications:
        return []
    ids = [m.id for m in messages][-_LISTED_IDS:]
    made = []
    for user in _users_who_see(session, account):
        made.append(
            Notification(
                company_id=account.company_id,
                user_id=user.id,
                kind=NEW_MAIL,
                account_id=account.id,
                title=new_mail_title(len(messages), account, user.language),
                count=len(messages),
                data={"account_id": account.id, "message_ids": ids},
            )
        )
    session.add_all(made)
    return made


def feed_condition(
    session: Session, *, actor: User, contact_id: int | None = None
) -> ColumnElement[bool]:
    """Which notifications one feed holds: the actor's own, or (F1) those of a contact person
    of the company, which any user of the company (the host application's token) may read:
    contacts are company-wide records (D5). Another company's contact is NotFoundError."""
    if contact_id is None:
        return Notification.user_id == actor.id
    get_or_404(session, Contact, contact_id, "Contact")
    return Notification.contact_id == contact_id


def list_notifications(
    session: Session,
    *,
    actor: User,
    unread: bool | None = None,
    limit: int = 50,
    offset: int = 0,
    contact_id: int | None = None,
) -> tuple[list[Notification], int, int]:
    """The feed's notifications (the actor's, or the contact's), newest first; also the
    count of its unread ones."""
    mine = [feed_condition(session, actor=actor, contact_id=contact_id)]
    conditions = list(mine)
    if unread is True:
        conditions.append(Notification.read_at.is_(None))
    elif unread is False:
        conditions.append(Notification.read_at.is_not(None))
    total = session.scalar(select(func.count()).select_from(Notification).where(*conditions))
    unread_count = session.scalar(
        select(func.count()).select_from(Notification).where(*mine, Notification.read_at.is_(None))
    )
    rows = session.scalars(
        select(Notification)
        .where(*conditions)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0, unread_count or 0


def mark_read(
    session: Session, *, actor: User, notification_id: int, contact_id: int | None = None
) -> Notification:
    """A notification of another feed (another user's, another contact's) does not exist."""
    row = session.scalar(
        select(Notification).where(
            Notification.id == notification_id,
            feed_condition(session, actor=actor, contact_id=contact_id),
        )
    )
    if row is None:
        raise NotFoundError(f"Notification {notification_id} does not exist.")
    if row.read_at is None:
        row.read_at = utcnow()
    return row


def mark_all_read(session: Session, *, actor: User, contact_id: int | None = None) -> int:
    result = session.execute(
        update(Notification)
        .where(
            feed_condition(session, actor=actor, contact_id=contact_id),
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
