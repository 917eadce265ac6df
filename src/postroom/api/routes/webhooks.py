"""Webhooks (administrators): where a host application hears of new contacts, clients, tasks."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import Page
from postroom.api.schemas_crm import WebhookCreate, WebhookCreated, WebhookPublic
from postroom.services import webhooks

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
def create_webhook(body: WebhookCreate, caller: CallerDep) -> WebhookCreated:
    with caller.begin() as tx:
        endpoint, secret = webhooks.create_endpoint(
            tx.session,
            actor=tx.actor,
            secret_box=caller.runtime.secret_box,
            url=body.url,
            events=body.events,
        )
        public = WebhookPublic.of(endpoint)
        return WebhookCreated(**public.model_dump(), secret=secret)


@router.get("/webhooks", response_model=Page[WebhookPublic])
def list_webhooks(caller: CallerDep, limit: Limit = 50, offset: Offset = 0) -> Page[WebhookPublic]:
    with caller.begin() as tx:
        rows, total = webhooks.list_endpoints(
            tx.session, actor=tx.actor, limit=limit, offset=offset
        )
        items = [
            WebhookPublic.of(row, webhooks.delivery_counts(tx.session, row.id)) for row in rows
        ]
        return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/webhooks/{webhook_id}", response_model=WebhookPublic)
def get_webhook(webhook_id: int, caller: CallerDep) -> WebhookPublic:
    with caller.begin() as tx:
        endpoint = webhooks.get_endpoint(tx.session, actor=tx.actor, endpoint_id=webhook_id)
        return WebhookPublic.of(endpoint, webhooks.delivery_counts(tx.session, endpoint.id))


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: int, caller: CallerDep) -> Response:
    with caller.begin() as tx:
        webhooks.delete_endpoint(tx.session, actor=tx.actor, endpoint_id=webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
