from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.sse import EventSourceResponse

from app.db import MAX_BIGINT
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.pagination import ListPage
from app.preflight.service import Preflight, preflight
from app.progress.queue import queue_place, queue_places
from app.progress.timing import elapsed_s
from app.runs import config as run_config
from app.runs import service, stream
from app.runs.schemas import (
    EventOut,
    RunClone,
    RunCreate,
    RunDetail,
    RunFilters,
    RunOut,
    RunPage,
    RunPreflight,
)

router = APIRouter(prefix="/runs", tags=["runs"])


@router.post("", status_code=201, summary="Submit a run")
def create_run(
    body: RunCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> RunDetail:
    """Queue a run; 422 naming the config key for what would stop it once started (its data
    included: curation keeping no question, a question longer than `train.max_seq_len`)."""
    run = service.submit(session, settings, user, body.name, body.config.model_dump())
    return RunDetail.model_validate(run)


@router.post("/preflight", summary="Pre-flight a config: what it keeps, writes and costs")
def preflight_run(
    body: RunPreflight, _: CurrentUser, session: SessionDep, settings: SettingsDep
) -> Preflight:
    """The pre-flight of a config, nothing queued: what curation keeps, rationales the teacher
    will write, and training and evaluation time with where each figure comes from."""
    return preflight(session, settings, run_config.check(session, body.config))


@router.get("", summary="List runs, filtered and paged")
def list_runs(
    _: CurrentUser,
    session: SessionDep,
    filters: Annotated[RunFilters, Query()],
    page: ListPage,
) -> RunPage:
    runs, total = service.list_runs(session, filters, page.limit, page.offset)
    places = queue_places(session, runs)
    items = [
        RunOut.model_validate(r).model_copy(update={"queue_position": places.get(r.id)})
        for r in runs
    ]
    return RunPage(items=items, total=total)


@router.get("/{run_id}", summary="One run with its frozen config")
def get_run(run_id: str, _: CurrentUser, session: SessionDep) -> RunDetail:
    run = service.get(session, run_id)
    place = {"elapsed_s": elapsed_s(run), "queue_position": queue_place(session, run)}
    return RunDetail.model_validate(run).model_copy(update=place)


@router.post("/{run_id}/cancel", summary="Cancel a queued or running run")
def cancel_run(run_id: str, user: CurrentUser, session: SessionDep) -> RunDetail:
    return RunDetail.model_validate(service.cancel(session, user, run_id))


@router.post("/{run_id}/clone", status_code=201, summary="Submit a copy of a run with overrides")
def clone_run(
    run_id: str, body: RunClone, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> RunDetail:
    run = service.clone(session, settings, user, run_id, body.name, body.overrides)
    return RunDetail.model_validate(run)


@router.post("/{run_id}/resume", summary="Resume a failed or cancelled run from its checkpoint")
def resume_run(
    run_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> RunDetail:
    return RunDetail.model_validate(service.resume(session, settings, user, run_id))


@router.delete("/{run_id}", status_code=204, summary="Delete a finished run and its files")
def delete_run(run_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> None:
    service.delete(session, settings, user, run_id)


@router.get(
    "/{run_id}/events",
    response_model=list[EventOut],
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON or SSE."}},
    summary="A run's event log (JSON page or SSE stream)",
)
def list_events(
    run_id: str,
    request: Request,
    _: CurrentUser,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=MAX_BIGINT, description="Events after this id.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    accept: Annotated[str, Header()] = "application/json",
    last_event_id: Annotated[
        int | None, Header(ge=0, le=MAX_BIGINT, description="SSE resume point (an event id).")
    ] = None,
) -> Any:
    service.get(session, run_id)
    if "text/event-stream" in accept:
        start = last_event_id if last_event_id is not None else after
        state = request.app.state
        events = stream.run_events(state.sessionmaker, state.db_slots, run_id, start)
        return EventSourceResponse(stream.encoded(events))
    return [EventOut.model_validate(e) for e in service.list_events(session, run_id, after, limit)]
