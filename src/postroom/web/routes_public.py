"""Public pages behind a campaign's links, without a login: unsubscribe (RFC 8058 one-click,
or a page with a confirm button) and the recipient's survey.

The token in the path is the credential: it names one campaign row, and these pages read and
change only that row's unsubscription and answers. A form here needs no CSRF token, since a
forged request would have to know the token already; an unknown token is a plain 404, the same
for every company."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from postroom.db.base import utcnow
from postroom.enums import Language
from postroom.errors import ConflictError, NotFoundError, ValidationError
from postroom.services import surveys, unsubscribes
from postroom.services.runtime import Runtime
from postroom.services.unsubscribes import TokenOwner
from postroom.web.auth import RuntimeDep
from postroom.web.i18n import N_, Translator
from postroom.web.rendering import render

router = APIRouter()

SURVEY_PROBLEMS = {
    "required": N_("This question needs an answer."),
    "invalid_choice": N_("Choose among the options given."),
    "too_long": N_("The answer is too long."),
}


def _language(request: Request) -> Language:
    """No account to ask: the browser's first language, Polish unless it prefers English."""
    wanted = request.headers.get("accept-language", "").split(",")[0].strip().lower()
    return Language.EN if wanted.startswith("en") else Language.PL


def _owner(runtime: Runtime, token: str) -> TokenOwner:
    owner = unsubscribes.owner_of(runtime, token)
    if owner is None:
        raise NotFoundError("This link is not valid.")
    return owner


def _unsubscribe_page(
    request: Request, runtime: Runtime, owner: TokenOwner, token: str, done: bool
) -> Response:
    with runtime.tenant(owner.company_id) as session:
        page = unsubscribes.page(session, owner)
    context = {"page": page, "token": token, "done": done}
    return render(request, "public_unsubscribe.html", context, language=_language(request))


@router.get("/u/{token}", response_model=None)
def unsubscribe_page(request: Request, token: str, runtime: RuntimeDep) -> Response:
    """The page behind the link: who is unsubscribed from what, and a button to confirm."""
    owner = _owner(runtime, token)
    return _unsubscribe_page(request, runtime, owner, token, done=False)


@router.post("/u/{token}", response_model=None)
def unsubscribe(request: Request, token: str, runtime: RuntimeDep) -> Response:
    """RFC 8058 one-click (the mail client posts "List-Unsubscribe=One-Click") and the page's
    confirm button alike: unsubscribed at once, no login and no second question (§3.2)."""
    owner = _owner(runtime, token)
    with runtime.tenant(owner.company_id) as session:
        unsubscribes.unsubscribe(session, owner, unsubscribes.Source.ONE_CLICK)
    return _unsubscribe_page(request, runtime, owner, token, done=True)


def _survey_page(
    request: Request,
    runtime: Runtime,
    owner: TokenOwner,
    token: str,
    *,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    with runtime.tenant(owner.company_id) as session:
        found = surveys.form(session, owner, utcnow(), runtime.settings.campaign_survey_days)
        if found is None:
            raise NotFoundError("This campaign has no survey.")
        session.expunge_all()
    context = {
        "survey": found,
        "token": token,
        "errors": errors or {},
        "saved": saved,
    }
    language = _language(request)
    return render(
        request, "public_survey.html", context, status_code=status_code, language=language
    )


@router.get("/s/{token}", response_model=None)
def survey(request: Request, token: str, runtime: RuntimeDep) -> Response:
    owner = _owner(runtime, token)
    return _survey_page(request, runtime, owner, token)


def _given(form: FormData) -> dict[int, list[str]]:
    """Answers by question id from fields named q<id> (several for a multiple choice)."""
    given: dict[int, list[str]] = {}
    for name in set(form.keys()):
        if name.startswith("q") and name[1:].isdigit():
            given[int(name[1:])] = [v for v in form.getlist(name) if isinstance(v, str)]
    return given


@router.post("/s/{token}", response_model=None)
async def answer_survey(request: Request, token: str, runtime: RuntimeDep) -> Response:
    """Store the answers (replacing earlier ones while the survey is open)."""
    owner = await run_in_threadpool(_owner, runtime, token)
    async with request.form(max_files=0, max_fields=200) as form:
        given = _given(form)
    translate = Translator(_language(request))

    def save() -> Response:
        try:
            with runtime.tenant(owner.company_id) as session:
                surveys.answer(
                    session,
                    owner,
                    given,
                    now=utcnow(),
                    open_days=runtime.settings.campaign_survey_days,
                )
        except ValidationError as exc:
            errors = {
                p.field: translate(SURVEY_PROBLEMS.get(p.code, p.message)) for p in exc.problems
            }
            return _survey_page(request, runtime, owner, token, errors=errors, status_code=422)
        except ConflictError:
            return _survey_page(request, runtime, owner, token, status_code=409)
        return _survey_page(request, runtime, owner, token, saved=True)

    return await run_in_threadpool(save)
