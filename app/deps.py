"""Request dependencies: the session (one transaction per request), settings, current user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.errors import Unauthorized
from app.queue import unit_of_work
from app.settings import Settings
from app.users import service as users
from app.users.models import User


def get_session(request: Request) -> Iterator[Session]:
    state = request.app.state
    with unit_of_work(state.sessionmaker, state.celery) as session:
        yield session


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
_bearer = HTTPBearer(auto_error=False, description="An API token from `mind-studio create-token`.")


def current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise Unauthorized("missing bearer token", "Authorization")
    user = users.authenticate(session, credentials.credentials)
    if user is None:
        raise Unauthorized("invalid or revoked token", "Authorization")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
