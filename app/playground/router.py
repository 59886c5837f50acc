from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse

from app.deps import CurrentUser, SessionDep, SettingsDep
from app.playground import service
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


@router.post("/playground/{student}", response_class=EventSourceResponse, responses=SSE)
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
