"""Browser sessions: a signed-in browser holds a server-side session in an HttpOnly cookie.

A session is a token row of kind `session` (256 random bits, stored hashed), so signing
out revokes it server-side and the account page can list and end sessions. It works only
as this cookie, for SESSION_DAYS; API tokens (kind `api`) work only as bearer tokens.
Sign-in costs the same scrypt work whether or not the email exists, and failures are rate
limited per email (a lockout) and per client (`app.users.throttle`). POST
forms carry a CSRF token derived from the session token (HMAC), checked on every POST;
the cookie is also SameSite=Lax, and the sign-in form, which has no session yet, checks
the Origin header instead.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session

from app.db import utcnow
from app.deps import SessionDep
from app.errors import Forbidden
from app.users import security
from app.users import service as users
from app.users.exceptions import UserNotFound
from app.users.models import ApiToken, User
from app.users.throttle import Throttle

COOKIE = "mind_session"
SESSION_NAME = "web session"
SESSION_DAYS = 14


class LoginRequired(Exception):
    """No valid session: the page handler answers with a redirect to /login."""

    def __init__(self, next_url: str):
        self.next_url = next_url


def sign_in(
    session: Session, throttle: Throttle, client: str, email: str, password: str
) -> str | None:
    """A new session token for these credentials, or None (same answer for any mistake).
    Raises TooManyAttempts once this client or this email has failed too often."""
    email = email.strip().lower()
    throttle.check("signin_attempts", client, "sign-in attempts from here")
    throttle.check("signin_failures", email, "failed sign-ins for this email", "email")
    throttle.hit("signin_attempts", client)
    try:
        user = users.get_by_email(session, email)
    except UserNotFound:
        user = None
    if user is None or not security.verify_password(password, user.password_hash):
        if user is None:
            security.verify_nobody(password)
        throttle.hit("signin_failures", email)
        return None
    return users.create_token(session, user, SESSION_NAME, kind="session")[1]


def sign_out(session: Session, token: str) -> None:
    row = _session_row(session, token)
    if row is not None:
        row.revoked_at = utcnow()


def _session_row(session: Session, token: str) -> ApiToken | None:
    row = users.find_token(session, token, "session")
    if row is None or utcnow() - row.created_at > timedelta(days=SESSION_DAYS):
        return None
    return row


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), b"csrf", hashlib.sha256).hexdigest()


def safe_next(url: str | None) -> str:
    """Only same-site paths: a crafted ?next= must not send a user elsewhere."""
    if not url or not url.startswith("/") or url.startswith("//") or urlsplit(url).netloc:
        return "/"
    return url


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.url.netloc


def page_user(request: Request, session: SessionDep) -> User:
    token = request.cookies.get(COOKIE, "")
    row = _session_row(session, token) if token else None
    if row is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(path, safe="/?=&,"))
    request.state.csrf = csrf_token(token)
    users.note_use(row)
    return row.user


PageUser = Annotated[User, Depends(page_user)]


def check_csrf(request: Request, user: PageUser, csrf: Annotated[str, Form()] = "") -> User:
    """For POST forms: the hidden `csrf` field must match this session's token."""
    if not hmac.compare_digest(csrf, request.state.csrf):
        raise Forbidden("the form's CSRF token is missing or stale; reload the page", "csrf")
    return user


FormUser = Annotated[User, Depends(check_csrf)]
