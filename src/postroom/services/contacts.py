"""Contact persons, usually of a client company: company-wide records any user may keep (D5)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from postroom.addresses import InvalidAddressError, normalize_address
from postroom.db.models_crm import Contact
from postroom.errors import NotFoundError, ValidationError
from postroom.services import clients, webhooks
from postroom.services.guards import add_unique, get_or_404


def contact_payload(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "email": contact.email,
        "name": contact.name,
        "phone": contact.phone,
        "client_id": contact.client_id,
        "created_from_mail_id": contact.created_from_mail_id,
        "created_at": webhooks.iso(contact.created_at),
    }


def check_email(value: str) -> str:
    try:
        # One contact per address: stored lower-cased, as incoming mail is matched.
        return normalize_address(value.strip()).lower()
    except InvalidAddressError as exc:
        raise ValidationError.for_field("email", str(exc), "invalid_email") from exc


def _check_client(session: Session, client_id: int | None) -> int | None:
    if client_id is None:
        return None
    try:
        clients.get_client(session, client_id)
    except NotFoundError as exc:
        raise ValidationError.for_field("client_id", exc.message, "unknown_client") from exc
    return client_id


def _save(session: Session, contact: Contact) -> Contact:
    return add_unique(
        session,
        contact,
        f"A contact with the e-mail {contact.email} already exists.",
        "contact_exists",
    )


def create_contact(
    session: Session,
    *,
    email: str,
    name: str = "",
    phone: str | None = None,
    client_id: int | None = None,
    created_from_mail_id: int | None = None,
) -> Contact:
    contact = Contact(
        email=check_email(email),
        name=name.strip(),
        phone=(phone or "").strip() or None,
        client_id=_check_client(session, client_id),
        created_from_mail_id=created_from_mail_id,
    )
    _save(session, contact)
    session.flush()
    webhooks.emit(session, webhooks.WebhookEvent.CONTACT_CREATED, contact_payload(contact))
    return contact


def get_contact(session: Session, contact_id: int) -> Contact:
    return get_or_404(session, Contact, contact_id, "Contact")


def find_by_email(session: Session, email: str) -> Contact | None:
    return session.scalar(select(Contact).where(Contact.email == email))


def list_contacts(
    session: Session,
    *,
    query: str | None = None,
    client_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Contact], int]:
    conditions = []
    if query:
        needle = query.strip().lower()
        conditions.append(
            or_(
                func.lower(Contact.name).contains(needle, autoescape=True),
                Contact.email.contains(needle, autoescape=True),
            )
        )
    if client_id is not None:
        conditions.append(Contact.client_id == client_id)
    total = session.scalar(select(func.count()).select_from(Contact).where(*conditions)) or 0
    rows = session.scalars(
        select(Contact)
        .where(*conditions)
        .order_by(Contact.name, Contact.email, Contact.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def update_contact(session: Session, *, contact_id: int, changes: dict[str, Any]) -> Contact:
    """Change the fields in `changes` (email, name, phone, client_id); None clears the last two."""
    contact = get_contact(session, contact_id)
    if changes.get("email") is not None:
        contact.email = check_email(changes["email"])
    if changes.get("name") is not None:
        contact.name = str(changes["name"]).strip()
    if "phone" in changes:
        contact.phone = (changes["phone"] or "").strip() or None
    if "client_id" in changes:
        contact.client_id = _check_client(session, changes["client_id"])
    return _save(session, contact)


def delete_contact(session: Session, *, contact_id: int) -> None:
    """Tasks linked to the contact stay, without it (the foreign key sets NULL)."""
    session.delete(get_contact(session, contact_id))
