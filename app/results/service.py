"""Recording a run's results (called by the worker's reporter) and reading them back.

Functions take the session and never commit. Paths are stored relative to the storage
directory, so web and workers may mount it at different places.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.results.models import (
    Artifact,
    Checkpoint,
    EvaluationResult,
    LatentAnalysis,
    MetricPoint,
    PerspectiveWeight,
)

WEIGHT_FIELDS = ("score", "weight", "selected", "present")
LATENT_FIELDS = ("n_points", "n_clusters", "purity", "nmi")


def record_step(session: Session, run_id: str, record: dict[str, Any]) -> None:
    """One optimiser step; a resumed run may log a step again, so earlier copies go first."""
    step = int(record["step"])
    for table in (MetricPoint, PerspectiveWeight):
        session.execute(delete(table).where(table.run_id == run_id, table.step >= step))
    session.add_all(
        MetricPoint(run_id=run_id, step=step, name=name, value=float(value))
        for name, value in record.items()
        if name != "step" and isinstance(value, int | float) and not isinstance(value, bool)
    )
    session.add_all(
        MetricPoint(run_id=run_id, step=step, name=f"probe_ce:{pid}"[:64], value=float(value))
        for pid, value in (record.get("probe_ce") or {}).items()
    )
    session.add_all(
        PerspectiveWeight(run_id=run_id, step=step, perspective=pid, **_weights(values))
        for pid, values in (record.get("perspectives") or {}).items()
    )


def _weights(values: dict[str, Any]) -> dict[str, float | None]:
    return {k: None if values.get(k) is None else float(values[k]) for k in WEIGHT_FIELDS}


def record_evaluation(
    session: Session, run_id: str, run_dir: str, base_dir: str, data: dict[str, Any]
) -> None:
    """The pipeline's evaluation result: eval.json content with `base` and `gain`.

    Predictions are JSONL files the pipeline wrote under each model's folder."""
    session.execute(delete(EvaluationResult).where(EvaluationResult.run_id == run_id))
    gains = data.get("gain", {}).get("benchmarks", {})
    for model, summary, folder in (("trained", data, run_dir), ("base", data["base"], base_dir)):
        for name, bench in summary["benchmarks"].items():
            session.add(
                EvaluationResult(
                    run_id=run_id,
                    model=model,
                    benchmark=name,
                    kind=bench["kind"],
                    answer_type=bench.get("answer_type"),
                    n=bench["n"],
                    accuracy=bench["accuracy"],
                    gain=gains.get(name, {}).get("gain") if model == "trained" else None,
                    predictions_path=f"{folder}/predictions/{name}.jsonl",
                )
            )


def record_latent(session: Session, run_id: str, data: dict[str, Any]) -> None:
    session.execute(delete(LatentAnalysis).where(LatentAnalysis.run_id == run_id))
    session.add(
        LatentAnalysis(
            run_id=run_id,
            model="trained",
            points=data.get("points", []),
            **{k: data[k] for k in LATENT_FIELDS},
        )
    )
    if "base" in data:
        session.add(
            LatentAnalysis(
                run_id=run_id, model="base", **{k: data["base"][k] for k in LATENT_FIELDS}
            )
        )


def record_checkpoint(session: Session, storage: Path, run_id: str, step: int, path: Path) -> None:
    """Add a checkpoint and forget the ones the trainer has rotated away."""
    for row in session.scalars(select(Checkpoint).where(Checkpoint.run_id == run_id)):
        if row.step == step or not (storage / row.path).exists():
            session.delete(row)
    session.flush()
    session.add(Checkpoint(run_id=run_id, step=step, path=str(path.relative_to(storage))))


def tree_digest(path: Path) -> tuple[int, str]:
    """(size, sha256) of a file, or of a folder's files by relative name and content."""
    digest, size = hashlib.sha256(), 0
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        data = file.read_bytes()
        digest.update(data)
        size += len(data)
    return size, digest.hexdigest()


def record_artifact(session: Session, storage: Path, run_id: str, name: str, path: Path) -> None:
    session.execute(delete(Artifact).where(Artifact.run_id == run_id, Artifact.name == name))
    size, sha = tree_digest(path)
    session.add(
        Artifact(
            run_id=run_id,
            name=name,
            path=str(path.relative_to(storage)),
            is_dir=path.is_dir(),
            size_bytes=size,
            sha256=sha,
        )
    )


def step_stride(session: Session, run_id: str, max_points: int) -> int:
    """The `every` that leaves at most about `max_points` steps of this run's series."""
    last = session.scalar(select(func.max(MetricPoint.step)).where(MetricPoint.run_id == run_id))
    return max(1, -(-(last or 0) // max_points))


def _thinned(column: ColumnElement[int], last: ColumnElement[int], every: int) -> ColumnElement:
    """Every `every`-th step and the last one, filtered in the database: a long run's
    series is drawn at screen resolution without reading every row."""
    return or_(column % every == 0, column == last)


def metric_series(
    session: Session, run_id: str, names: list[str], every: int = 1
) -> dict[str, dict[str, list]]:
    query = select(MetricPoint.name, MetricPoint.step, MetricPoint.value).where(
        MetricPoint.run_id == run_id
    )
    if every > 1:
        last = select(func.max(MetricPoint.step)).where(MetricPoint.run_id == run_id)
        query = query.where(_thinned(MetricPoint.step, last.scalar_subquery(), every))
    if names:
        query = query.where(MetricPoint.name.in_(names))
    series: dict[str, dict[str, list]] = defaultdict(lambda: {"steps": [], "values": []})
    for name, step, value in session.execute(query.order_by(MetricPoint.name, MetricPoint.step)):
        series[name]["steps"].append(step)
        series[name]["values"].append(value)
    return dict(series)


def weight_series(session: Session, run_id: str, every: int = 1) -> dict[str, dict[str, list]]:
    query = (
        select(PerspectiveWeight)
        .where(PerspectiveWeight.run_id == run_id)
        .order_by(PerspectiveWeight.perspective, PerspectiveWeight.step)
    )
    if every > 1:
        last = select(func.max(PerspectiveWeight.step)).where(PerspectiveWeight.run_id == run_id)
        query = query.where(_thinned(PerspectiveWeight.step, last.scalar_subquery(), every))
    series: dict[str, dict[str, list]] = defaultdict(
        lambda: {"steps": [], **{k: [] for k in WEIGHT_FIELDS}}
    )
    for row in session.scalars(query):
        out = series[row.perspective]
        out["steps"].append(row.step)
        for field in WEIGHT_FIELDS:
            out[field].append(getattr(row, field))
    return dict(series)


def evaluations(session: Session, run_id: str) -> list[EvaluationResult]:
    query = select(EvaluationResult).where(EvaluationResult.run_id == run_id)
    return list(
        session.scalars(query.order_by(EvaluationResult.model.desc(), EvaluationResult.benchmark))
    )


def evaluation(session: Session, run_id: str, benchmark: str, model: str) -> EvaluationResult:
    row = session.scalar(
        select(EvaluationResult).where(
            EvaluationResult.run_id == run_id,
            EvaluationResult.benchmark == benchmark,
            EvaluationResult.model == model,
        )
    )
    if row is None:
        raise NotFound(f"no {model} evaluation on {benchmark!r} for this run", "benchmark")
    return row


def latent(session: Session, run_id: str) -> list[LatentAnalysis]:
    query = select(LatentAnalysis).where(LatentAnalysis.run_id == run_id)
    return list(session.scalars(query.order_by(LatentAnalysis.model.desc())))


def checkpoints(session: Session, run_id: str) -> list[Checkpoint]:
    query = select(Checkpoint).where(Checkpoint.run_id == run_id).order_by(Checkpoint.step)
    return list(session.scalars(query))


def artifacts(session: Session, run_id: str) -> list[Artifact]:
    query = select(Artifact).where(Artifact.run_id == run_id).order_by(Artifact.name)
    return list(session.scalars(query))


def artifact(session: Session, run_id: str, name: str) -> Artifact:
    row = session.scalar(select(Artifact).where(Artifact.run_id == run_id, Artifact.name == name))
    if row is None:
        raise NotFound(f"no artifact {name!r} for this run", "name")
    return row
