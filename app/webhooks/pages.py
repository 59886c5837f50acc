"""The webhooks page: a user's endpoints, their delivery logs, and a "Send test" button."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from app.deps import SessionDep, SettingsDep
from app.errors import Invalid
from app.pages.auth import FormUser, PageUser
from app.pages.render import render
from app.users.models import User
from app.webhooks import service
from app.webhooks.models import EVENTS
from app.webhooks.schemas import WebhookCreate

router = APIRouter(prefix="/webhooks", include_in_schema=False)


def _page(
    request: Request, user: User, session, status_code: int = 200, **extra: object
) -> HTMLResponse:
    hooks = service.list_for(session, user)
    return render(
        request,
        "webhooks.html",
        user,
        status_code=status_code,
        active="webhooks",
        hooks=hooks,
        deliveries={h.id: service.deliveries(session, h.id, 10) for h in hooks},
        events=EVENTS,
        **extra,
    )


@router.get("")
def webhooks_page(request: Request, user: PageUser, session: SessionDep) -> HTMLResponse:
    return _page(request, user, session)


@router.post("")
def create(
    request: Request,
    user: FormUser,
    session: SessionDep,
    settings: SettingsDep,
    url: Annotated[str, Form(max_length=2000)],
    events: Annotated[list[str], Form()] = [],  # noqa: B006
) -> HTMLResponse:
    try:
        body = WebhookCreate.model_validate({"url": url, "events": events})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        return _page(request, user, session, 422, error=f"{field}: {first['msg']}", url=url)
    try:
        hook = service.create(session, settings, user, str(body.url), list(body.events))
    except Invalid as exc:
        return _page(request, user, session, 422, error=f"url: {exc.message}", url=url)
    return _page(request, user, session, 201, new_secret=hook.secret, new_id=hook.id)


@router.post("/{webhook_id}/test")
def send_test(
    webhook_id: str, user: FormUser, session: SessionDep, settings: SettingsDep
) -> RedirectResponse:
    service.send_test(session, user, webhook_id, settings)
    return RedirectResponse(f"/webhooks#hook-{webhook_id}", status_code=303)


@router.post("/{webhook_id}/delete")
def delete(webhook_id: str, user: FormUser, session: SessionDep) -> RedirectResponse:
    service.delete(session, user, webhook_id)
    return RedirectResponse("/webhooks", status_code=303)
