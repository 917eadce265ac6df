"""Web Push (F1): the VAPID public key, a contact's subscription link, a client's browsers."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from postroom.api.deps import CallerDep
from postroom.db.models_channels import PushSubscription
from postroom.services import push_subscriptions, vapid_keys

router = APIRouter(tags=["web push"])


class VapidPublicKey(BaseModel):
    public_key: str = Field(
        description="The platform's VAPID public key (RFC 8292): an uncompressed P-256 point "
        "in base64url, the `applicationServerKey` for PushManager.subscribe()."
    )


class PushLink(BaseModel):
    contact_id: int
    url: str = Field(
        description="The page to give the contact person: it explains the notifications and "
        "turns them on in their browser. Making a new link makes the previous one invalid."
    )


class PushSubscriptionPublic(BaseModel):
    """A browser subscribed to a client's notifications; its keys are never shown."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    client_id: int | None
    contact_id: int | None
    push_service: str = Field(description="The host of the browser vendor's push service.")
    user_agent: str
    created_at: datetime
    expired_at: datetime | None = Field(
        description="When the push service said the subscription is gone (404/410)."
    )

    @classmethod
    def of(cls, row: PushSubscription) -> PushSubscriptionPublic:
        return cls(
            id=row.id,
            client_id=row.client_id,
            contact_id=row.contact_id,
            push_service=urlsplit(row.endpoint).hostname or "",
            user_agent=row.user_agent,
            created_at=row.created_at,
            expired_at=row.expired_at,
        )


@router.get("/push/vapid-public-key", response_model=VapidPublicKey)
def get_vapid_public_key(caller: CallerDep) -> VapidPublicKey:
    with caller.begin():
        pass  # only an authenticated caller: the key is public, but the API is not
    return VapidPublicKey(public_key=vapid_keys.public_key(caller.runtime))


@router.post("/contacts/{contact_id}/push-link", response_model=PushLink)
def make_push_link(contact_id: int, caller: CallerDep) -> PushLink:
    """A new link to the contact's Web Push page (the old one stops working)."""
    with caller.begin() as tx:
        token = push_subscriptions.make_portal_token(tx.session, contact_id=contact_id)
    base = caller.runtime.settings.effective_public_url
    return PushLink(contact_id=contact_id, url=base + push_subscriptions.portal_path(token))


@router.get("/clients/{client_id}/push-subscriptions", response_model=list[PushSubscriptionPublic])
def list_push_subscriptions(client_id: int, caller: CallerDep) -> list[PushSubscriptionPublic]:
    with caller.begin() as tx:
        rows = push_subscriptions.for_client(tx.session, client_id=client_id)
        return [PushSubscriptionPublic.of(row) for row in rows]
