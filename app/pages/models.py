"""Models: every student a run can use, with its facts and runs; add a hub id or a folder."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.deps import SessionDep, SettingsDep
from app.errors import StudioError
from app.pages.auth import FormUser, PageUser
from app.pages.render import render
from app.students import service as models

router = APIRouter(prefix="/models", include_in_schema=False)


@router.get("")
def models_page(request: Request, user: PageUser, session: SessionDep) -> HTMLResponse:
    return render(request, "models.html", user, models=models.list_models(session))


@router.post("")
def add_model(
    request: Request,
    user: FormUser,
    session: SessionDep,
    settings: SettingsDep,
    hf_id: Annotated[str, Form(max_length=200)] = "",
    path: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """A hub id queues a download; a folder path (admins) is registered at once."""
    try:
        if path.strip():
            models.register_local(session, settings, user, path.strip())
        else:
            models.request_download(session, user, hf_id.strip())
    except StudioError as exc:
        return render(
            request,
            "models.html",
            user,
            status_code=exc.status,
            models=models.list_models(session),
            error=exc,
            hf_id=hf_id,
            path=path,
        )
    return RedirectResponse("/models", status_code=303)
