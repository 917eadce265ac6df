"""The accounts list with search, filters, paging and the bulk edit of options (A11)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pydantic
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from postroom.services import accounts
from postroom.services.account_schemas import AccountOptionsUpdate
from postroom.services.runtime import Runtime
from postroom.web.auth import CheckedForm, RuntimeDep, Visitor, VisitorDep, tenant_work
from postroom.web.fields import LABELS, schema_errors
from postroom.web.i18n import N_, Translator
from postroom.web.rendering import flash_key_for_bulk, redirect, render
from postroom.web.views import account_rows

router = APIRouter()

PAGE_SIZE = 50
OWNER_FILTERS = ("all", accounts.OWNER_ME, accounts.OWNER_COMPANY)
BULK_BOOLS = (
    "active",
    "leave_on_server",
    "delete_on_server_when_purged",
    "notifications",
    "create_contacts",
    "create_tasks",
)
BULK_VALUES = ("fetch_interval_minutes", "fetch_since", "sent_folder", "drafts_folder")
BULK_CLEARABLE = ("fetch_since", "sent_folder", "drafts_folder")
BULK_PREFIX = "bulk_"
ATTENTION = "attention"
NOTHING_SELECTED = N_("Select at least one account.")
NOTHING_CHANGED = N_("Choose at least one option to change.")


@dataclass(frozen=True)
class ListQuery:
    """The list's filters, from the query string or from the hidden fields of the bulk form."""

    q: str = ""
    owner: str = "all"
    active: str = ""  # "", "yes", "no", "attention" (account health)
    page: int = 1

    @classmethod
    def parse(cls, source: Any) -> ListQuery:
        owner = str(source.get("owner") or "all")
        active = str(source.get("active") or "")
        page = str(source.get("page") or "1")
        return cls(
            q=str(source.get("q") or "").strip()[:200],
            owner=owner if owner in OWNER_FILTERS else "all",
            active=active if active in ("yes", "no", ATTENTION) else "",
            page=max(1, int(page)) if page.isdigit() else 1,
        )

    def account_filter(self) -> accounts.AccountFilter:
        return accounts.AccountFilter(
            q=self.q or None,
            owner=None if self.owner == "all" else self.owner,
            active=None if self.active in ("", ATTENTION) else self.active == "yes",
            needs_attention=True if self.active == ATTENTION else None,
        )

    def url(self, page: int) -> str:
        params = {"q": self.q, "owner": self.owner, "active": self.active, "page": str(page)}
        return "/accounts?" + urlencode({k: v for k, v in params.items() if v})


@dataclass
class BulkState:
    """What the bulk panel shows again after a refused submit."""

    selected: set[str] = field(default_factory=set)
    values: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _list_page(
    request: Request,
    runtime: Runtime,
    visitor: Visitor,
    query: ListQuery,
    bulk: BulkState | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with tenant_work(runtime, visitor) as (session, actor):
        found, total = accounts.list_accounts(
            session,
            actor=actor,
            filters=query.account_filter(),
            limit=PAGE_SIZE,
            offset=(query.page - 1) * PAGE_SIZE,
        )
        rows = account_rows(session, actor, found)
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        "rows": rows,
        "total": total,
        "query": query,
        "first": (query.page - 1) * PAGE_SIZE + 1 if rows else 0,
        "last": (query.page - 1) * PAGE_SIZE + len(rows),
        "prev_url": query.url(query.page - 1) if query.page > 1 else None,
        "next_url": query.url(query.page + 1) if query.page < pages else None,
        "filtered": bool(query.q or query.owner != "all" or query.active),
        "bulk": bulk or BulkState(),
        "bulk_bools": BULK_BOOLS,
        "bulk_values": BULK_VALUES,
        "bulk_clearable": BULK_CLEARABLE,
        "labels": LABELS,
    }
    template = "accounts_results.html" if _htmx_partial(request) else "accounts_list.html"
    return render(request, template, context, status_code=status_code)


def _htmx_partial(request: Request) -> bool:
    # The live search swaps only the results; a boosted or history request needs the page.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Target") == "account-results"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


@router.get("/accounts", response_model=None)
def list_page(request: Request, visitor: VisitorDep, runtime: RuntimeDep) -> Response:
    response = _list_page(request, runtime, visitor, ListQuery.parse(request.query_params))
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


def parse_bulk_options(form: FormData) -> dict[str, Any]:
    """Only the options the user changed: "leave unchanged" (the empty choice) sends nothing."""
    data: dict[str, Any] = {}
    for name in BULK_BOOLS:
        choice = form.get(BULK_PREFIX + name)
        if choice in ("on", "off"):
            data[name] = choice == "on"
    for name in BULK_VALUES:
        raw = str(form.get(BULK_PREFIX + name) or "").strip()
        if raw:
            data[name] = raw
        elif name in BULK_CLEARABLE and form.get(f"{BULK_PREFIX}clear_{name}") is not None:
            data[name] = None
    return data


def _bulk_errors(exc: pydantic.ValidationError, translate: Translator) -> list[str]:
    return [
        f"{translate(LABELS.get(name, name))}: {' '.join(messages)}"
        for name, messages in schema_errors(exc, translate).items()
    ]


@router.post("/accounts/bulk", response_model=None)
def bulk_update(
    request: Request, visitor: VisitorDep, form: CheckedForm, runtime: RuntimeDep
) -> Response:
    translate = Translator(visitor.language)
    ids = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()]
    query = ListQuery.parse(form)  # the list as it was, to go back to
    bulk = BulkState(
        selected={str(i) for i in ids},
        values={k: str(v) for k, v in form.items() if k.startswith(BULK_PREFIX)},
    )
    data = parse_bulk_options(form)
    if not ids:
        bulk.errors.append(translate(NOTHING_SELECTED))
    if not data:
        bulk.errors.append(translate(NOTHING_CHANGED))
    try:
        options = AccountOptionsUpdate.model_validate(data)
    except pydantic.ValidationError as exc:
        bulk.errors.extend(_bulk_errors(exc, translate))
    if bulk.errors:
        return _list_page(request, runtime, visitor, query, bulk, status_code=422)
    with tenant_work(runtime, visitor) as (session, actor):
        changed = accounts.bulk_update_options(
            session, actor=actor, account_ids=ids, options=options
        )
    return redirect(query.url(query.page), flash=flash_key_for_bulk(len(changed)))


@router.get("/accounts/bulk", response_model=None)
def bulk_page(_visitor: VisitorDep) -> Response:
    # Reached by switching the language on a refused bulk edit: the list is the page to show.
    return redirect("/accounts")
