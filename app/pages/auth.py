"""Browser sessions: a signed-in browser holds a server-side session in an HttpOnly cookie.

A session is an API-token row named `web session` (256 random bits, stored hashed), so
signing out revokes it server-side and the account page can list and end sessions. POST
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

from app.db import utcnow
from app.deps import SessionDep
from app.errors import Forbidden
from app.users import sessions
from app.users.models import User

COOKIE = "mind_session"
LAST_SEEN_EVERY = timedelta(minutes=5)  # not a write per request (live pages poll)


class LoginRequired(Exception):
    """No valid session: the page handler answers with a redirect to /login."""

    def __init__(self, next_url: str):
        self.next_url = next_url


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
    row = sessions.find(session, token) if token else None
    if row is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(path, safe="/?=&,"))
    request.state.csrf = csrf_token(token)
    if row.last_used_at is None or utcnow() - row.last_used_at > LAST_SEEN_EVERY:
        row.last_used_at = utcnow()
    return row.user


PageUser = Annotated[User, Depends(page_user)]


def check_csrf(request: Request, user: PageUser, csrf: Annotated[str, Form()] = "") -> User:
    """For POST forms: the hidden `csrf` field must match this session's token."""
    if not hmac.compare_digest(csrf, request.state.csrf):
        raise Forbidden("the form's CSRF token is missing or stale; reload the page", "csrf")
    return user


FormUser = Annotated[User, Depends(check_csrf)]
