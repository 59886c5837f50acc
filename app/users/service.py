"""Users and tokens. Functions take the session and never commit."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.users import security
from app.users.exceptions import EmailTaken, TokenNotFound, UserNotFound, WeakPassword
from app.users.models import ApiToken, User

# `last_used_at` is refreshed at most this often: not a write on every request.
LAST_USED_EVERY = timedelta(minutes=5)
# When this process last wrote each token's `last_used_at`: a burst of concurrent requests
# on one token (100 API clients, a page's polling) makes one write, not one per request.
# On SQLite every writer queues for the database lock, and a request holds it until its
# transaction ends, so a write per request stalled the whole burst behind the lock.
_written: dict[str, datetime] = {}
_written_lock = threading.Lock()


def create_user(session: Session, email: str, password: str, is_admin: bool = False) -> User:
    email = email.strip().lower()
    if len(password) < 8:
        raise WeakPassword()
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise EmailTaken(email)
    user = User(email=email, password_hash=security.hash_password(password), is_admin=is_admin)
    session.add(user)
    session.flush()
    return user


def get_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise UserNotFound(email)
    return user


def create_token(
    session: Session, user: User, name: str = "", kind: str = "api"
) -> tuple[ApiToken, str]:
    """A new token row and the token itself, which is never stored and shown only now."""
    token = security.new_token()
    row = ApiToken(
        user_id=user.id,
        name=name,
        kind=kind,
        token_hash=security.hash_token(token),
        prefix=token[: len(security.TOKEN_PREFIX) + 4],
    )
    session.add(row)
    session.flush()
    return row, token


def find_token(session: Session, token: str, kind: str) -> ApiToken | None:
    """The live (unrevoked) token row of this kind, or None."""
    return session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == security.hash_token(token),
            ApiToken.kind == kind,
            ApiToken.revoked_at.is_(None),
        )
    )


def authenticate(session: Session, token: str) -> User | None:
    """The user of a live API token (never of a browser session)."""
    row = find_token(session, token, "api")
    if row is None:
        return None
    note_use(row)
    return row.user


def note_use(row: ApiToken) -> None:
    """Refresh `row.last_used_at` if neither it nor this process's last write of it is
    within LAST_USED_EVERY (the change is committed with the request's transaction)."""
    now = utcnow()
    with _written_lock:
        last = max(filter(None, (row.last_used_at, _written.get(row.id))), default=None)
        if last is not None and now - last <= LAST_USED_EVERY:
            return
        _written[row.id] = now
    row.last_used_at = now


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
    return list(session.scalars(query))


def revoke_token(session: Session, user: User, token_id: str) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise TokenNotFound(token_id)
    row.revoked_at = row.revoked_at or utcnow()
    return row


def emails(session: Session, user_ids: set[str]) -> dict[str, str]:
    rows = session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
    return {user_id: email for user_id, email in rows}


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))
