from __future__ import annotations

from fastapi import APIRouter

from app.deps import CurrentUser, SessionDep
from app.users import service
from app.users.exceptions import AdminOnly
from app.users.schemas import NewToken, TokenCreate, TokenOut, UserCreate, UserOut

router = APIRouter(tags=["users"])


@router.get("/users/me", summary="The signed-in user")
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.post("/users", status_code=201, summary="Create a user (admins only)")
def create_user(body: UserCreate, user: CurrentUser, session: SessionDep) -> UserOut:
    if not user.is_admin:
        raise AdminOnly()
    created = service.create_user(session, body.email, body.password, body.is_admin)
    return UserOut.model_validate(created)


@router.get("/tokens", summary="List your API tokens and sessions")
def list_tokens(user: CurrentUser, session: SessionDep) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in service.list_tokens(session, user)]


@router.post("/tokens", status_code=201, summary="Create an API token (shown once)")
def create_token(body: TokenCreate, user: CurrentUser, session: SessionDep) -> NewToken:
    row, token = service.create_token(session, user, body.name)
    return NewToken.model_validate({**TokenOut.model_validate(row).model_dump(), "token": token})


@router.delete("/tokens/{token_id}", summary="Revoke one of your tokens")
def revoke_token(token_id: str, user: CurrentUser, session: SessionDep) -> TokenOut:
    return TokenOut.model_validate(service.revoke_token(session, user, token_id))
