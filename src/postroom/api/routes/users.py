"""Users of the caller's company, and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from postroom.api.deps import CallerDep, Limit, Offset
from postroom.api.schemas import (
    Page,
    TokenCreate,
    TokenIssued,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from postroom.services import tokens, users

router = APIRouter(tags=["users"])


def _secret(value: object) -> str | None:
    reveal = getattr(value, "get_secret_value", None)
    return reveal() if reveal else None


@router.get("/users", response_model=Page[UserPublic])
def list_users(caller: CallerDep, limit: Limit = 100, offset: Offset = 0) -> Page[UserPublic]:
    with caller.begin() as tx:
        rows, total = users.list_users(tx.session, limit=limit, offset=offset)
        return Page(
            items=[UserPublic.model_validate(u) for u in rows],
            total=total,
            limit=limit,
            offset=offset,
        )


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
def create_user(body: UserCreate, caller: CallerDep) -> UserPublic:
    with caller.begin() as tx:
        user = users.create_user(
            tx.session,
            actor=tx.actor,
            company_id=tx.actor.company_id,
            email=body.email,
            name=body.name,
            password=_secret(body.password),
            role=body.role,
            can_see_others_accounts=body.can_see_others_accounts,
            can_purge_mail=body.can_purge_mail,
            language=body.language,
        )
        tx.session.flush()
        return UserPublic.model_validate(user)


@router.get("/users/me", response_model=UserPublic)
def get_me(caller: CallerDep) -> UserPublic:
    with caller.begin() as tx:
        return UserPublic.model_validate(tx.actor)


@router.get("/users/{user_id}", response_model=UserPublic)
def get_user(user_id: int, caller: CallerDep) -> UserPublic:
    with caller.begin() as tx:
        return UserPublic.model_validate(users.get_user(tx.session, user_id))


@router.patch("/users/{user_id}", response_model=UserPublic)
def update_user(user_id: int, body: UserUpdate, caller: CallerDep) -> UserPublic:
    values = body.model_dump(exclude_unset=True, exclude={"password"})
    changes = users.UserChanges(**values, password=_secret(body.password))
    with caller.begin() as tx:
        user = users.update_user(tx.session, actor=tx.actor, user_id=user_id, changes=changes)
        tx.session.flush()
        return UserPublic.model_validate(user)


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(user_id: int, caller: CallerDep) -> Response:
    with caller.begin() as tx:
        users.delete_user(tx.session, actor=tx.actor, user_id=user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/tokens", response_model=list[TokenPublic], tags=["tokens"])
def list_tokens(caller: CallerDep, user_id: int | None = None) -> list[TokenPublic]:
    """The caller's tokens, or (administrators) another user's."""
    with caller.begin() as tx:
        if user_id is not None:
            users.get_user(tx.session, user_id)  # 404 for another company's user
        rows = tokens.list_tokens(tx.session, actor=tx.actor, user_id=user_id)
        return [TokenPublic.model_validate(t) for t in rows]


@router.post(
    "/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenIssued, tags=["tokens"]
)
def create_token(body: TokenCreate, caller: CallerDep) -> TokenIssued:
    """A new token for the caller or (administrators) another user; shown once."""
    with caller.begin() as tx:
        owner = tx.actor if body.user_id is None else users.get_user(tx.session, body.user_id)
        issued = tokens.issue_token(tx.session, actor=tx.actor, user=owner, name=body.name)
        public = TokenPublic.model_validate(issued.token)
        return TokenIssued(**public.model_dump(), token=issued.plaintext)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["tokens"])
def revoke_token(token_id: int, caller: CallerDep) -> Response:
    with caller.begin() as tx:
        tokens.revoke_token(tx.session, actor=tx.actor, token_id=token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
