"""Request dependencies: the session (one transaction per request), settings, current user.

Connections cannot run out under load: a request takes one of `Settings.pool_size` slots
(an `anyio.Semaphore` in `app.state.db_slots`) before its session exists and holds it until
the session is closed, and the engine's pool has exactly that many connections. So a thread
that asks the pool for a connection always finds one free, and requests beyond the pool
wait in line for a slot (503 after `db_wait_s`) instead of holding threads that block one
another.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import contextmanager_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.errors import Busy, Unauthorized
from app.queue import unit_of_work
from app.settings import Settings
from app.users import service as users
from app.users.models import User
from app.users.throttle import Throttle


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def get_session(request: Request) -> AsyncIterator[Session]:
    state = request.app.state
    with anyio.move_on_after(state.settings.db_wait_s) as waited:
        await state.db_slots.acquire()
    if waited.cancelled_caught:
        raise Busy("every database connection is busy; try again shortly")
    try:
        async with contextmanager_in_threadpool(
            unit_of_work(state.sessionmaker, state.celery)
        ) as session:
            yield session
    finally:
        state.db_slots.release()


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_throttle(request: Request) -> Throttle:
    return request.app.state.throttle


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ThrottleDep = Annotated[Throttle, Depends(get_throttle)]
_bearer = HTTPBearer(auto_error=False, description="An API token from `mind-studio create-token`.")


def current_user(
    request: Request,
    session: SessionDep,
    throttle: ThrottleDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The token's user. Only API tokens count here (a browser session cookie is not a
    bearer token), and a client that keeps sending invalid ones gets 429 (counted only on
    failures, so valid requests cost no rate-limit lookup)."""
    if credentials is None:
        raise Unauthorized("missing bearer token", "Authorization")
    user = users.authenticate(session, credentials.credentials)
    if user is None:
        client = client_key(request)
        throttle.check("bad_token_attempts", client, "invalid tokens", "Authorization")
        throttle.hit("bad_token_attempts", client)
        raise Unauthorized("invalid or revoked token", "Authorization")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
