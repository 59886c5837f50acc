"""Browser sessions: an API-token row named `web session`, so they are revoked and listed
like tokens. Functions take the session and never commit; `app.pages.auth` holds the
cookie and CSRF side."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.users import security
from app.users import service as users
from app.users.exceptions import UserNotFound
from app.users.models import ApiToken, User

SESSION_NAME = "web session"
SESSION_DAYS = 14


def sign_in(session: Session, email: str, password: str) -> str | None:
    """A new session token for these credentials, or None (same answer for any mistake)."""
    try:
        user = users.get_by_email(session, email)
    except UserNotFound:
        return None
    if not security.verify_password(password, user.password_hash):
        return None
    return users.create_token(session, user, SESSION_NAME)[1]


def sign_out(session: Session, token: str) -> None:
    row = find(session, token)
    if row is not None:
        row.revoked_at = utcnow()


def find(session: Session, token: str) -> ApiToken | None:
    """The live session row of `token`: not revoked, younger than SESSION_DAYS."""
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == security.hash_token(token),
            ApiToken.name == SESSION_NAME,
            ApiToken.revoked_at.is_(None),
        )
    )
    if row is None or utcnow() - row.created_at > timedelta(days=SESSION_DAYS):
        return None
    return row


def tokens_and_sessions(session: Session, user: User) -> tuple[list[ApiToken], list[ApiToken]]:
    """The user's API tokens (revoked ones too), and their open browser sessions."""
    rows = users.list_tokens(session, user)
    tokens = [t for t in rows if t.name != SESSION_NAME]
    return tokens, [t for t in rows if t.name == SESSION_NAME and t.revoked_at is None]


def create_api_token(session: Session, user: User, name: str) -> str:
    """A named API token (never named like a session, which would hide it as one)."""
    name = name.strip()[:200] or "api"
    name = f"{name} (api)" if name == SESSION_NAME else name
    return users.create_token(session, user, name)[1]
