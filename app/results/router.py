from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from app.deps import CurrentUser, SessionDep, SettingsDep
from app.pagination import Page, paged
from app.results import service
from app.results.schemas import (
    ArtifactOut,
    CheckpointOut,
    EvaluationOut,
    LatentOut,
    Series,
    WeightSeries,
)
from app.runs import service as runs

router = APIRouter(prefix="/runs/{run_id}", tags=["results"])


@router.get("/metrics")
def metrics(
    run_id: str,
    _: CurrentUser,
    session: SessionDep,
    name: Annotated[list[str], Query(description="Only these series.")] = [],  # noqa: B006
) -> dict[str, Series]:
    runs.get(session, run_id)
    return service.metric_series(session, run_id, name)


@router.get("/weights")
def weights(run_id: str, _: CurrentUser, session: SessionDep) -> dict[str, WeightSeries]:
    runs.get(session, run_id)
    return service.weight_series(session, run_id)


@router.get("/evaluations")
def evaluations(run_id: str, _: CurrentUser, session: SessionDep) -> list[EvaluationOut]:
    runs.get(session, run_id)
    return [EvaluationOut.model_validate(e) for e in service.evaluations(session, run_id)]


@router.get("/evaluations/{benchmark}/predictions")
def predictions(
    run_id: str,
    benchmark: str,
    _: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    page: Annotated[Page, paged(default=100, maximum=1000)],
    model: Literal["trained", "base"] = "trained",
) -> list[dict[str, Any]]:
    """Per-example predictions: id, question, gold, output, prediction, correct."""
    return service.predictions(session, settings, run_id, benchmark, model, page.offset, page.limit)


@router.get("/latent")
def latent(run_id: str, _: CurrentUser, session: SessionDep) -> list[LatentOut]:
    runs.get(session, run_id)
    return [LatentOut.model_validate(a) for a in service.latent(session, run_id)]


@router.get("/checkpoints")
def checkpoints(run_id: str, _: CurrentUser, session: SessionDep) -> list[CheckpointOut]:
    runs.get(session, run_id)
    return [CheckpointOut.model_validate(c) for c in service.checkpoints(session, run_id)]


@router.get("/artifacts")
def artifacts(run_id: str, _: CurrentUser, session: SessionDep) -> list[ArtifactOut]:
    runs.get(session, run_id)
    return [ArtifactOut.model_validate(a) for a in service.artifacts(session, run_id)]


@router.get("/artifacts/{name}", response_class=FileResponse)
def download(
    run_id: str, name: str, _: CurrentUser, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """The file itself; a folder (the adapter) comes as a zip archive built for this request."""
    path, filename, cleanup = service.artifact_file(session, settings, run_id, name)
    return FileResponse(path, filename=filename, background=cleanup)
