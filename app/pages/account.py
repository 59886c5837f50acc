"""Sign in and out, and the account page: the current user, API tokens and sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.deps import SessionDep, ThrottleDep, client_key
from app.errors import Forbidden, TooManyAttempts
from app.pages import auth
from app.pages.auth import FormUser, PageUser
from app.pages.render import render
from app.users import service as users
from app.users.models import User

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", None, next=auth.safe_next(next))


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    throttle: ThrottleDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    if not auth.same_origin(request):
        raise Forbidden("sign-in from another site refused", "origin")
    try:
        token = auth.sign_in(session, throttle, client_key(request), email, password)
    except TooManyAttempts as exc:
        page = render(
            request,
            "login.html",
            None,
            status_code=429,
            next=auth.safe_next(next),
            email=email,
            error=f"Too many attempts: try again in {exc.retry_after} s.",
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if token is None:
        return render(
            request,
            "login.html",
            None,
            status_code=400,
            next=auth.safe_next(next),
            email=email,
            error="Wrong email or password.",
        )
    response = RedirectResponse(auth.safe_next(next), status_code=303)
    response.set_cookie(
        auth.COOKIE,
        token,
        max_age=auth.SESSION_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request, _: FormUser, session: SessionDep) -> Response:
    auth.sign_out(session, request.cookies.get(auth.COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.COOKIE)
    return response


def _account(
    request: Request, user: User, session: SessionDep, new_token: str | None = None
) -> HTMLResponse:
    tokens = users.list_tokens(session, user)
    return render(
        request,
        "account.html",
        user,
        tokens=[t for t in tokens if t.kind == "api"],
        sessions=[t for t in tokens if t.kind == "session" and t.revoked_at is None],
        new_token=new_token,
    )


@router.get("/account")
def account(request: Request, user: PageUser, session: SessionDep) -> HTMLResponse:
    return _account(request, user, session)


@router.post("/account/tokens")
def create_token(
    request: Request, user: FormUser, session: SessionDep, name: Annotated[str, Form()] = ""
) -> HTMLResponse:
    """The page that shows the new token: it is stored hashed and never shown again."""
    name = name.strip()[:200] or "api"
    _, token = users.create_token(session, user, name)
    return _account(request, user, session, new_token=token)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(token_id: str, user: FormUser, session: SessionDep) -> Response:
    users.revoke_token(session, user, token_id)
    return RedirectResponse("/account", status_code=303)
