"""The playground page: one question, the trained and the base student side by side."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.sse import EventSourceResponse

from app.deps import SessionDep, SettingsDep
from app.errors import Forbidden
from app.pages.auth import PageUser
from app.pages.render import render
from app.playground import exports, service
from app.playground.router import stream
from app.playground.schemas import Ask, Student
from app.runs import service as runs

router = APIRouter(prefix="/runs/{run_id}", include_in_schema=False)


@router.get("/playground")
def playground_page(
    run_id: str, request: Request, user: PageUser, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    run = runs.get(session, run_id)
    steps = [int(p.name.removeprefix("step-")) for p in service.checkpoints(settings, run)]
    return render(
        request,
        "playground.html",
        user,
        run=run,
        steps=steps,
        max_new_tokens=min(
            run.config["eval"]["max_new_tokens"], settings.playground_max_new_tokens
        ),
        limit=settings.playground_max_new_tokens,
    )


@router.post("/playground/{student}")
def ask_student(
    run_id: str,
    student: Student,
    body: Ask,
    request: Request,
    _: PageUser,
    session: SessionDep,
    settings: SettingsDep,
) -> EventSourceResponse:
    """The API's stream behind the session cookie; the CSRF token comes as a header."""
    if not hmac.compare_digest(request.headers.get("x-csrf-token", ""), request.state.csrf):
        raise Forbidden("the page's CSRF token is missing or stale; reload the page", "csrf")
    return stream(request, session, settings, run_id, student, body)


@router.get("/export/{kind}", response_class=FileResponse)
def export(
    run_id: str,
    kind: exports.Kind,
    request: Request,
    _: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    step: int | None = None,
) -> FileResponse:
    run = runs.get(session, run_id)
    pool = service.pool_of(request.app.state, settings)
    return exports.send(session, settings, pool, run, kind, step)


@router.get("/checkpoint/{step}/download", response_class=FileResponse)
def download_checkpoint(
    run_id: str, step: int, _: PageUser, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    return exports.send_checkpoint(settings, runs.get(session, run_id), step)
