"""Contacts and client companies: company-wide records (D5), made by hand or from mail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import Page
from postroom.api.schemas_crm import (
    ClientChannelsBatch,
    ClientChannelsBatchResult,
    ClientCreate,
    ClientPublic,
    ClientUpdate,
    ContactCreate,
    ContactPublic,
    ContactUpdate,
)
from postroom.services import client_channels, clients, contacts

router = APIRouter(tags=["contacts"])
Search = Annotated[
    str | None, Query(max_length=200, description="Part of the name, e-mail or domain.")
]


@router.get("/contacts", response_model=Page[ContactPublic])
def list_contacts(
    caller: CallerDep,
    q: Search = None,
    client_id: Annotated[int | None, Query(description="Contacts of this client.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ContactPublic]:
    with caller.begin() as tx:
        rows, total = contacts.list_contacts(
            tx.session, query=q, client_id=client_id, limit=limit, offset=offset
        )
        items = [ContactPublic.model_validate(row) for row in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)


@router.post("/contacts", status_code=status.HTTP_201_CREATED, response_model=ContactPublic)
def create_contact(body: ContactCreate, caller: CallerDep) -> ContactPublic:
    with caller.begin() as tx:
        contact = contacts.create_contact(tx.session, **body.model_dump())
        return ContactPublic.model_validate(contact)


@router.get("/contacts/{contact_id}", response_model=ContactPublic)
def get_contact(contact_id: int, caller: CallerDep) -> ContactPublic:
    with caller.begin() as tx:
        return ContactPublic.model_validate(contacts.get_contact(tx.session, contact_id))


@router.patch("/contacts/{contact_id}", response_model=ContactPublic)
def update_contact(contact_id: int, body: ContactUpdate, caller: CallerDep) -> ContactPublic:
    with caller.begin() as tx:
        contact = contacts.update_contact(
            tx.session, contact_id=contact_id, changes=body.model_dump(exclude_unset=True)
        )
        return ContactPublic.model_validate(contact)


@router.delete("/contacts/{contact_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_contact(contact_id: int, caller: CallerDep) -> Response:
    with caller.begin() as tx:
        contacts.delete_contact(tx.session, contact_id=contact_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/clients", response_model=Page[ClientPublic])
def list_clients(
    caller: CallerDep, q: Search = None, limit: Limit = 50, offset: Offset = 0
) -> Page[ClientPublic]:
    with caller.begin() as tx:
        rows, total = clients.list_clients(tx.session, query=q, limit=limit, offset=offset)
        items = [ClientPublic.model_validate(row) for row in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)


@router.post("/clients", status_code=status.HTTP_201_CREATED, response_model=ClientPublic)
def create_client(body: ClientCreate, caller: CallerDep) -> ClientPublic:
    with caller.begin() as tx:
        # Checked before anything is written; fields left out keep the model's defaults
        # (F1: only in-app and Web Push on).
        channels = client_channels.check(tx.session, body.model_dump(exclude_unset=True))
        client = clients.create_client(
            tx.session, name=body.name, domain=body.domain, tax_id=body.tax_id
        )
        client_channels.assign(client, channels)
        tx.session.flush()
        return ClientPublic.model_validate(client)


@router.patch("/clients/channels", response_model=ClientChannelsBatchResult)
def set_channel(body: ClientChannelsBatch, caller: CallerDep) -> ClientChannelsBatchResult:
    """One channel on or off for many clients at once (the client list's bulk edit)."""
    with caller.begin() as tx:
        changed = client_channels.set_channel(
            tx.session, client_ids=body.client_ids, channel=body.channel, enabled=body.enabled
        )
        return ClientChannelsBatchResult(items=[ClientPublic.model_validate(c) for c in changed])


@router.get("/clients/{client_id}", response_model=ClientPublic)
def get_client(client_id: int, caller: CallerDep) -> ClientPublic:
    with caller.begin() as tx:
        return ClientPublic.model_validate(clients.get_client(tx.session, client_id))


@router.patch("/clients/{client_id}", response_model=ClientPublic)
def update_client(client_id: int, body: ClientUpdate, caller: CallerDep) -> ClientPublic:
    with caller.begin() as tx:
        changes = body.model_dump(exclude_unset=True)
        current = clients.get_client(tx.session, client_id)
        channels = client_channels.check(tx.session, changes, current)  # before any write
        client = clients.update_client(tx.session, client_id=client_id, changes=changes)
        client_channels.assign(client, channels)
        tx.session.flush()
        return ClientPublic.model_validate(client)


@router.delete("/clients/{client_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_client(client_id: int, caller: CallerDep) -> Response:
    with caller.begin() as tx:
        clients.delete_client(tx.session, client_id=client_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
