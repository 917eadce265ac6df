"""Invoices of the host application (seed 003) and the office's dunning ladder."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import Page
from postroom.api.schemas_invoices import (
    DunningLadderIn,
    DunningLadderPublic,
    DunningLevelPublic,
    InvoiceCreate,
    InvoiceDetailPublic,
    InvoicePaid,
    InvoicePublic,
    NoticePublic,
)
from postroom.enums import InvoiceStatus
from postroom.services import dunning, invoices
from postroom.services.invoice_plan import local_today
from postroom.services.notice_message import VARIABLES

router = APIRouter(tags=["invoices"])


def _detail(detail: invoices.InvoiceDetail) -> InvoiceDetailPublic:
    notices = [
        NoticePublic(
            id=view.notice.id,
            level=view.notice.level,
            level_name=view.level_name,
            send_on=view.notice.send_on,
            status=view.notice.status,
            detail=view.notice.detail,
            sent_at=view.notice.sent_at,
            batch_key=view.notice.batch_key,
        )
        for view in detail.notices
    ]
    base = InvoicePublic.model_validate(detail.invoice)
    return InvoiceDetailPublic(**base.model_dump(), notices=notices)


def _ladder(ladder: dunning.Ladder) -> DunningLadderPublic:
    return DunningLadderPublic(
        levels=[DunningLevelPublic.model_validate(level) for level in ladder.levels],
        is_default=ladder.is_default,
        variables=list(VARIABLES),
    )


@router.post(
    "/invoices",
    status_code=status.HTTP_201_CREATED,
    response_model=InvoiceDetailPublic,
    responses={200: {"description": "Registered before with the same data (a safe repeat)."}},
)
def register_invoice(
    body: InvoiceCreate, caller: CallerDep, response: Response
) -> InvoiceDetailPublic:
    """Register an invoice and plan its notices by the office's dunning ladder. The same
    number with the same data again answers 200 with the invoice; with other data, 409."""
    settings = caller.runtime.settings
    with caller.begin() as tx:
        registered = invoices.register_invoice(
            tx.session,
            actor=tx.actor,
            settings=settings,
            data=invoices.InvoiceInput(**body.model_dump()),
            today=local_today(settings),
        )
        if not registered.created:
            response.status_code = status.HTTP_200_OK
        return _detail(invoices.get_invoice(tx.session, registered.invoice.id))


@router.get("/invoices", response_model=Page[InvoicePublic])
def list_invoices(
    caller: CallerDep,
    client_id: Annotated[int | None, Query(description="Invoices of this client.")] = None,
    invoice_status: Annotated[InvoiceStatus | None, Query(alias="status")] = None,
    overdue: Annotated[
        bool | None, Query(description="true: unpaid and past the due date; false: the rest.")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[InvoicePublic]:
    with caller.begin() as tx:
        rows, total = invoices.list_invoices(
            tx.session,
            today=local_today(caller.runtime.settings),
            client_id=client_id,
            status=invoice_status,
            overdue=overdue,
            limit=limit,
            offset=offset,
        )
        items = [InvoicePublic.model_validate(row) for row in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/invoices/{invoice_id}", response_model=InvoiceDetailPublic)
def get_invoice(invoice_id: int, caller: CallerDep) -> InvoiceDetailPublic:
    """The invoice with its notices, one per dunning level, and the state of each."""
    with caller.begin() as tx:
        return _detail(invoices.get_invoice(tx.session, invoice_id))


@router.post("/invoices/{invoice_id}/paid", response_model=InvoiceDetailPublic)
def mark_paid(
    invoice_id: int, caller: CallerDep, body: InvoicePaid | None = None
) -> InvoiceDetailPublic:
    """Paid: its pending notices are cancelled at once. Repeating it changes nothing."""
    with caller.begin() as tx:
        invoices.mark_paid(
            tx.session, invoice_id=invoice_id, paid_at=body.paid_at if body else None
        )
        return _detail(invoices.get_invoice(tx.session, invoice_id))


@router.post("/invoices/{invoice_id}/cancel", response_model=InvoiceDetailPublic)
def cancel_invoice(invoice_id: int, caller: CallerDep) -> InvoiceDetailPublic:
    """Withdrawn (e.g. corrected by another invoice): its pending notices are cancelled."""
    with caller.begin() as tx:
        invoices.cancel_invoice(tx.session, invoice_id=invoice_id)
        return _detail(invoices.get_invoice(tx.session, invoice_id))


@router.get("/office/dunning", response_model=DunningLadderPublic)
def get_dunning(caller: CallerDep) -> DunningLadderPublic:
    """The office's dunning ladder; the built-in one (is_default) until an admin sets one."""
    with caller.begin() as tx:
        return _ladder(dunning.get_ladder(tx.session))


@router.put("/office/dunning", response_model=DunningLadderPublic)
def replace_dunning(body: DunningLadderIn, caller: CallerDep) -> DunningLadderPublic:
    """Replace the whole ladder (administrators). Unpaid invoices' pending notices are
    re-planned by it; levels already sent stay as they were."""
    with caller.begin() as tx:
        levels = [dunning.Level(**level.model_dump()) for level in body.levels]
        ladder = dunning.replace_ladder(
            tx.session,
            actor=tx.actor,
            levels=levels,
            today=local_today(caller.runtime.settings),
        )
        return _ladder(ladder)
