from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from fastapi.sse import EventSourceResponse

from app.deps import CurrentUser, SessionDep, SettingsDep
from app.playground import exports, service
from app.playground.schemas import Ask, Student
from app.runs import service as runs

router = APIRouter(prefix="/runs/{run_id}", tags=["playground"])
SSE = {200: {"content": {"text/event-stream": {}}, "description": "token* then done|error."}}


def stream(
    request: Request, session, settings, run_id: str, student: Student, ask: Ask
) -> EventSourceResponse:
    run = runs.get(session, run_id)
    to = service.target(session, settings, run, student, ask)
    pool = service.pool_of(request.app.state, settings)
    return EventSourceResponse(service.answer_events(pool, to, ask))


@router.post("/playground/{student}", responses=SSE)
def ask_student(
    run_id: str,
    student: Student,
    body: Ask,
    request: Request,
    _: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> EventSourceResponse:
    """The trained (latest or `step` checkpoint) or base student's answer, streamed as
    server-sent events: `token` {"text"} pieces, then `done` {"answer", "final_answer",
    "answer_type"} (or `error` {"message"})."""
    return stream(request, session, settings, run_id, student, body)


@router.get("/exports/{kind}", response_class=FileResponse)
def export(
    run_id: str,
    kind: exports.Kind,
    request: Request,
    _: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    step: Annotated[int | None, Query(gt=0, description="Default: the latest.")] = None,
) -> FileResponse:
    """A checkpoint's student that loads anywhere: `adapter` (zip: peft adapter naming its
    base portably, tokenizer, model card), `merged` (zip: plain transformers model) or
    `card` (the model card, Markdown). Any run with a checkpoint, whatever its status."""
    run = runs.get(session, run_id)
    pool = service.pool_of(request.app.state, settings)
    return exports.send(session, settings, pool, run, kind, step)


@router.get("/checkpoints/{step}/download", response_class=FileResponse)
def download_checkpoint(
    run_id: str, step: int, _: CurrentUser, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """The checkpoint folder as saved (weights, optimizer and trainer state), as a zip."""
    return exports.send_checkpoint(settings, runs.get(session, run_id), step)
