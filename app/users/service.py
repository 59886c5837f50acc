"""Users and tokens. Functions take the session and never commit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.users import security
from app.users.exceptions import EmailTaken, TokenNotFound, UserNotFound, WeakPassword
from app.users.models import ApiToken, User

# `last_used_at` is refreshed at most this often: not a write on every request.
LAST_USED_EVERY = timedelta(minutes=5)


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
    if row.last_used_at is None or utcnow() - row.last_used_at > LAST_USED_EVERY:
        row.last_used_at = utcnow()
    return row.user


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
    return list(session.scalars(query))


def revoke_token(session: Session, user: User, token_id: str) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise TokenNotFound(token_id)
    row.revoked_at = row.revoked_at or utcnow()
    return row
