"""One run's page, live while it runs: SSE for status and log, figures re-fetched as JSON."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from itertools import islice
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.sse import EventSourceResponse
from sqlalchemy.orm import Session

from app.db import MAX_BIGINT, MAX_PAGE
from app.deps import SessionDep, SettingsDep
from app.errors import NotFound
from app.pages import figures, listing
from app.pages.auth import FormUser, PageUser
from app.pages.render import render, templates
from app.progress.queue import queue_place
from app.results import service as results
from app.results.router import download as download_artifact
from app.runs import service as runs
from app.runs import stream
from app.runs.models import Run
from app.runs.status import ACTIVE
from app.settings import Settings
from app.users.models import User
from mind.answers import EXTRACTOR_VERSION

router = APIRouter(prefix="/runs/{run_id}", include_in_schema=False)
LOG_TAIL = 300
PREDICTIONS_PAGE = 50
PANELS = ("actions", "facts", "evaluation", "latent", "files")


def _results(session: Session, settings: Settings, run: Run, user: User) -> dict[str, Any]:
    """What the results panel shows; re-rendered for live updates."""
    current = results.evaluations(session, run.id)
    summaries = figures.eval_summaries(current)
    trained, base = summaries.get("trained"), summaries.get("base")
    bench = sorted((trained or {}).get("benchmarks", {}).items(), key=lambda i: i[1]["kind"])
    actions = runs.allowed_actions(settings, user, run)
    return {
        "run": run,
        "owner": listing.emails(session, {run.owner_id}).get(run.owner_id, ""),
        "datasets": listing.run_datasets(session, [run.id]).get(run.id, {}),
        "trained": trained,
        "base": base,
        "bench_rows": [(n, b, (base or {}).get("benchmarks", {}).get(n)) for n, b in bench],
        "latent": results.latent(session, run.id),
        "checkpoints": results.checkpoints(session, run.id),
        "queue_place": queue_place(session, run),
        "artifacts": results.artifacts(session, run.id),
        "can_cancel": "cancel" in actions,
        "can_resume": "resume" in actions,
        "can_delete": "delete" in actions,
        "extractor_versions": sorted({e.extractor_version for e in current}),
        "extractor_version": EXTRACTOR_VERSION,
        "can_rescore": results.can_rescore(user, run, current),
    }


@router.get("")
def run_page(
    run_id: str, request: Request, user: PageUser, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    run = runs.get(session, run_id)
    events = listing.recent_events(session, run.id, LOG_TAIL)
    return render(
        request,
        "run.html",
        user,
        events=events,
        last_event=events[-1].id if events else 0,
        live=run.status in ACTIVE,
        figures=figures.run_figures(session, run.id),
        config_json=json.dumps(run.config, indent=2),
        **_results(session, settings, run, user),
    )


@router.get("/figures.json")
def run_figures(
    run_id: str, request: Request, user: PageUser, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    """The live page's refresh: every figure, and the panels that change as HTML."""
    run = runs.get(session, run_id)
    context = {"request": request, "csrf": request.state.csrf} | _results(
        session, settings, run, user
    )
    panels = {p: templates.get_template(f"run/{p}.html").render(context) for p in PANELS}
    state = {"status": run.status, "stage": run.stage, "progress": run.progress, "error": run.error}
    body = {"figures": figures.run_figures(session, run.id), "panels": panels, "state": state}
    return JSONResponse(body)


@router.get("/stream")
def run_stream(
    run_id: str,
    request: Request,
    _: PageUser,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=MAX_BIGINT)] = 0,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_BIGINT)] = None,
) -> EventSourceResponse:
    """The API's SSE stream behind the session cookie (EventSource sends no bearer token)."""
    runs.get(session, run_id)
    start = last_event_id if last_event_id is not None else after
    state = request.app.state
    events = stream.run_events(state.sessionmaker, state.db_slots, run_id, start)
    return EventSourceResponse(_as_log(events))


async def _as_log(events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Every log event renamed `log` (its kind stays in the data): EventSource delivers only
    the event names a page listens for, and the pipeline adds kinds as it grows."""
    async for chunk in events:
        head, _, rest = chunk.partition(b"\n")
        if head.startswith(b"event: ") and head != b"event: state":
            chunk = b"event: log\n" + rest
        yield chunk


@router.get("/predictions/{benchmark}")
def predictions_page(
    run_id: str,
    benchmark: str,
    request: Request,
    user: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    model: Literal["trained", "base"] = "trained",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    run = runs.get(session, run_id)
    row = results.evaluation(session, run_id, benchmark, model)
    path = settings.storage / str(row.predictions_path)
    if not path.exists():
        raise NotFound(f"the predictions file of {benchmark!r} is gone", "benchmark")
    start = (page - 1) * PREDICTIONS_PAGE
    with path.open(encoding="utf-8") as handle:
        items = [json.loads(line) for line in islice(handle, start, start + PREDICTIONS_PAGE)]
    return render(
        request,
        "predictions.html",
        user,
        run=run,
        evaluation=row,
        items=items,
        page=page,
        pages=max(1, -(-row.n // PREDICTIONS_PAGE)),
        start=start,
    )


@router.get("/download/{name}", response_class=FileResponse)
def download(
    run_id: str, name: str, user: PageUser, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    return download_artifact(run_id, name, user, session, settings)


@router.post("/cancel")
def cancel(run_id: str, user: FormUser, session: SessionDep) -> RedirectResponse:
    runs.cancel(session, user, run_id)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/resume")
def resume(
    run_id: str, user: FormUser, session: SessionDep, settings: SettingsDep
) -> RedirectResponse:
    runs.resume(session, settings, user, run_id)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/rescore")
def rescore(
    run_id: str, user: FormUser, session: SessionDep, settings: SettingsDep
) -> RedirectResponse:
    results.rescore(session, settings.storage, runs.get(session, run_id), user)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/delete")
def delete(
    run_id: str, user: FormUser, session: SessionDep, settings: SettingsDep
) -> RedirectResponse:
    runs.delete(session, settings, user, run_id)
    return RedirectResponse("/", status_code=303)
