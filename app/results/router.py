from __future__ import annotations

import json
import shutil
import tempfile
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from app.db import MAX_BIGINT
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.errors import NotFound
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


@router.get("/metrics", summary="Training metric series")
def metrics(
    run_id: str,
    _: CurrentUser,
    session: SessionDep,
    name: Annotated[list[str], Query(description="Only these series.")] = [],  # noqa: B006
) -> dict[str, Series]:
    runs.get(session, run_id)
    return service.metric_series(session, run_id, name)


@router.get("/weights", summary="Perspective weight series (MetaNet)")
def weights(run_id: str, _: CurrentUser, session: SessionDep) -> dict[str, WeightSeries]:
    runs.get(session, run_id)
    return service.weight_series(session, run_id)


@router.get("/evaluations", summary="Accuracy per benchmark, base and trained")
def evaluations(run_id: str, _: CurrentUser, session: SessionDep) -> list[EvaluationOut]:
    runs.get(session, run_id)
    return [EvaluationOut.model_validate(e) for e in service.evaluations(session, run_id)]


@router.post(
    "/evaluations/rescore",
    status_code=201,
    summary="Rescore stored outputs with the current extractor",
)
def rescore(
    run_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> list[EvaluationOut]:
    """Score the stored outputs again with the current answer extractor.

    Only evaluations scored by an older extractor version are rescored; each gets a new
    evaluation (the old one is kept). 409 when every evaluation is already current.
    """
    run = runs.get(session, run_id)
    rows = service.rescore(session, settings.storage, run, user)
    return [EvaluationOut.model_validate(e) for e in rows]


@router.get(
    "/evaluations/{benchmark}/predictions", summary="Per-example predictions of one benchmark"
)
def predictions(
    run_id: str,
    benchmark: str,
    _: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    model: Literal["trained", "base"] = "trained",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_BIGINT)] = 0,
) -> list[dict[str, Any]]:
    """Per-example predictions: id, question, gold, output, prediction, correct."""
    row = service.evaluation(session, run_id, benchmark, model)
    path = settings.storage / str(row.predictions_path)
    if not path.exists():
        raise NotFound(f"the predictions file of {benchmark!r} is gone", "benchmark")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in islice(handle, offset, offset + limit)]


@router.get("/latent", summary="Latent-space analysis results")
def latent(run_id: str, _: CurrentUser, session: SessionDep) -> list[LatentOut]:
    runs.get(session, run_id)
    return [LatentOut.model_validate(a) for a in service.latent(session, run_id)]


@router.get("/checkpoints", summary="The run's checkpoints")
def checkpoints(run_id: str, _: CurrentUser, session: SessionDep) -> list[CheckpointOut]:
    runs.get(session, run_id)
    return [CheckpointOut.model_validate(c) for c in service.checkpoints(session, run_id)]


@router.get("/artifacts", summary="The run's downloadable files")
def artifacts(run_id: str, _: CurrentUser, session: SessionDep) -> list[ArtifactOut]:
    runs.get(session, run_id)
    return [ArtifactOut.model_validate(a) for a in service.artifacts(session, run_id)]


@router.get("/artifacts/{name}", response_class=FileResponse, summary="Download one artifact")
def download(
    run_id: str, name: str, _: CurrentUser, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """The file itself; a folder comes as a zip archive built for this request. The adapter
    is its portable export (base named by bundled name or hub id, model card)."""
    row = service.artifact(session, run_id, name)
    if name == "adapter":
        from app.playground.exports import send_latest_adapter

        return send_latest_adapter(session, settings, runs.get(session, run_id))
    path = settings.storage / row.path
    if not path.exists():
        raise NotFound(f"the file of artifact {name!r} is gone", "name")
    if not row.is_dir:
        return FileResponse(path, filename=path.name)
    scratch = Path(tempfile.mkdtemp(dir=settings.storage))
    archive = shutil.make_archive(str(scratch / f"{run_id}-{name}"), "zip", path)
    cleanup = BackgroundTask(shutil.rmtree, scratch, ignore_errors=True)
    return FileResponse(archive, filename=Path(archive).name, background=cleanup)
