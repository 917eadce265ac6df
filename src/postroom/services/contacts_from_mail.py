"""A message from an unknown person creates a contact, and a client for a company domain (D5).

No duplicates on resync or when two fetches meet the same new sender: each insert runs in a
savepoint, and a unique-constraint clash (the other fetch committed first) means "use theirs".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from postroom.db.models_crm import Client, Contact
from postroom.db.models_mailbox import MailMessage
from postroom.errors import ConflictError, ValidationError
from postroom.services import clients, contacts
from postroom.services.mail_senders import (
    FreeMailDomains,
    bare_address,
    client_name,
    is_machine_address,
    organisation_domain,
)

_NAME_CHARS = 300


@dataclass(frozen=True)
class SenderContext:
    """What decides whether a sender is a new person to remember."""

    own_addresses: frozenset[str]
    free_mail: FreeMailDomains


def person_address(message: MailMessage, context: SenderContext) -> str | None:
    """The sender's address when it is a person outside the company, else None."""
    address = bare_address(message.from_address)
    if address is None or address in context.own_addresses:
        return None
    if message.auto_submitted or is_machine_address(address):
        return None
    return address


def _client_for(session: Session, domain: str, message: MailMessage) -> Client | None:
    try:
        organisation = clients.check_domain(organisation_domain(domain))
    except ValidationError:
        return None  # a domain no client record can hold (an address literal, say)
    if organisation is None:
        return None
    found = clients.find_by_domain(session, organisation)
    if found is not None:
        return found
    session.flush()  # only the new row goes into the savepoint below
    try:
        return clients.create_client(
            session,
            name=client_name(organisation),
            domain=organisation,
            created_from_mail_id=message.id,
        )
    except ConflictError:
        return clients.find_by_domain(session, organisation)


def contact_for_message(
    session: Session, message: MailMessage, context: SenderContext
) -> Contact | None:
    """The sender's contact, made (with its client) if the sender is new; None for machines,
    colleagues and messages without a usable sender."""
    address = person_address(message, context)
    if address is None:
        return None
    found = contacts.find_by_email(session, address)
    if found is not None:
        return found
    domain = address.rpartition("@")[2]
    client = None if domain in context.free_mail else _client_for(session, domain, message)
    session.flush()
    try:
        return contacts.create_contact(
            session,
            email=address,
            name=message.from_name.strip().strip('"')[:_NAME_CHARS],
            client_id=client.id if client is not None else None,
            created_from_mail_id=message.id,
        )
    except ConflictError:
        return contacts.find_by_email(session, address)
    except ValidationError:
        return None  # an address the contact rules refuse (e.g. too long)
