"""Client companies of the office: company-wide records any user may keep (D5)."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from postroom.db.models_crm import Client
from postroom.errors import ValidationError
from postroom.services import webhooks
from postroom.services.guards import add_unique, get_or_404

# A host name in the LDH form (RFC 1123), at least two labels; IDNs come as A-labels (xn--).
_DOMAIN = re.compile(r"^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


def client_payload(client: Client) -> dict[str, Any]:
    """The client as webhooks and the API's events carry it."""
    return {
        "id": client.id,
        "name": client.name,
        "domain": client.domain,
        "tax_id": client.tax_id,
        "created_from_mail_id": client.created_from_mail_id,
        "created_at": webhooks.iso(client.created_at),
    }


def check_domain(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    domain = value.strip().lower().rstrip(".")
    with contextlib.suppress(UnicodeError):  # the pattern below refuses it, clearly
        domain = domain.encode("idna").decode("ascii")
    if not _DOMAIN.match(domain):
        raise ValidationError.for_field(
            "domain", f"{value!r} is not a domain name (like firma.pl).", "invalid_domain"
        )
    return domain


def _save(session: Session, client: Client) -> Client:
    return add_unique(
        session,
        client,
        f"A client with the domain {client.domain} already exists.",
        "client_exists",
    )


def create_client(
    session: Session,
    *,
    name: str,
    domain: str | None = None,
    tax_id: str | None = None,
    created_from_mail_id: int | None = None,
) -> Client:
    client = Client(
        name=name.strip(),
        domain=check_domain(domain),
        tax_id=(tax_id or "").strip() or None,
        created_from_mail_id=created_from_mail_id,
    )
    _save(session, client)
    session.flush()
    webhooks.emit(session, webhooks.WebhookEvent.CLIENT_CREATED, client_payload(client))
    return client


def get_client(session: Session, client_id: int) -> Client:
    return get_or_404(session, Client, client_id, "Client")


def find_by_domain(session: Session, domain: str) -> Client | None:
    return session.scalar(select(Client).where(Client.domain == domain))


def list_clients(
    session: Session, *, query: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Client], int]:
    conditions = []
    if query:
        needle = query.strip().lower()
        conditions.append(
            or_(
                func.lower(Client.name).contains(needle, autoescape=True),
                Client.domain.contains(needle, autoescape=True),
            )
        )
    total = session.scalar(select(func.count()).select_from(Client).where(*conditions)) or 0
    rows = session.scalars(
        select(Client)
        .where(*conditions)
        .order_by(Client.name, Client.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def update_client(session: Session, *, client_id: int, changes: dict[str, Any]) -> Client:
    """Change the fields in `changes` (name, domain, tax_id); None clears domain or tax_id."""
    client = get_client(session, client_id)
    if "name" in changes and changes["name"] is not None:
        client.name = str(changes["name"]).strip()
    if "domain" in changes:
        client.domain = check_domain(changes["domain"])
    if "tax_id" in changes:
        client.tax_id = (changes["tax_id"] or "").strip() or None
    return _save(session, client)


def delete_client(session: Session, *, client_id: int) -> None:
    """Its contacts stay, without a client (the foreign key sets NULL)."""
    session.delete(get_client(session, client_id))
