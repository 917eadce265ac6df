"""Messages to a client over its channels (F1) and the client's communication history."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import Page
from postroom.api.schemas_crm import (
    ChannelOutcomePublic,
    ClientNotifyRequest,
    ClientNotifyResult,
    CommunicationPublic,
)
from postroom.enums import Channel, CommunicationStatus
from postroom.services import client_notify, clients, communications

router = APIRouter(tags=["clients"])


@router.post("/clients/{client_id}/notify", response_model=ClientNotifyResult)
def notify(client_id: int, body: ClientNotifyRequest, caller: CallerDep) -> ClientNotifyResult:
    """Send the message over every channel enabled for the client; one outcome per channel,
    each recorded in the client's history. Sending happens later (outbox, SMS and push
    queues): QUEUED here becomes SENT / DELIVERED / FAILED in the history."""
    with caller.begin() as tx:
        client = clients.get_client(tx.session, client_id)
        client_notify.require_some_channel(client)
        files = tuple(body.attachment_file_ids)
        client_notify.check_attachments(tx.session, actor=tx.actor, file_ids=files)
        batch_key = uuid.uuid4().hex
        outcomes = client_notify.notify_client(
            tx.session,
            runtime=caller.runtime,
            client=client,
            message=client_notify.ClientMessage(
                subject=body.subject,
                text=body.text,
                sms_text=body.sms_text,
                url=body.url,
                attachment_file_ids=files,
                document_kind=body.document_kind,
            ),
            source=client_notify.SOURCE_NOTIFY,
            actor=tx.actor,
            batch_key=batch_key,
        )
        return ClientNotifyResult(
            batch_key=batch_key,
            outcomes=[
                ChannelOutcomePublic(
                    channel=o.channel,
                    status=o.status,
                    detail=o.detail,
                    communication_id=o.communication_id,
                    recipients=o.recipients,
                )
                for o in outcomes
            ],
        )


@router.get("/clients/{client_id}/communications", response_model=Page[CommunicationPublic])
def history(
    client_id: int,
    caller: CallerDep,
    channel: Annotated[Channel | None, Query(description="Only this channel.")] = None,
    source: Annotated[
        str | None, Query(max_length=30, description="notify, reminder, invoice_notice")
    ] = None,
    status: Annotated[CommunicationStatus | None, Query(description="Only this status.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CommunicationPublic]:
    """Newest first; each status is brought up to date from the outbox and the queues."""
    with caller.begin() as tx:
        clients.get_client(tx.session, client_id)
        rows, total = communications.list_history(
            tx.session,
            client_id=client_id,
            filters=communications.HistoryFilter(channel=channel, source=source, status=status),
            limit=limit,
            offset=offset,
        )
        items = [CommunicationPublic.model_validate(row) for row in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)
