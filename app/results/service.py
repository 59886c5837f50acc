"""Recording a run's results (called by the worker's reporter) and reading them back.

Functions take the session and never commit. Paths are stored relative to the storage
directory, so web and workers may mount it at different places.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from app.datasets import service as datasets
from app.errors import Conflict, Forbidden, NotFound
from app.results.models import (
    Artifact,
    Checkpoint,
    EvaluationResult,
    LatentAnalysis,
    MetricPoint,
    PerspectiveWeight,
)
from app.runs.models import Run
from app.settings import Settings
from app.users.models import User
from mind.step_record import PROBE_PREFIX, PerspectiveStats, StepRecord

WEIGHT_FIELDS = ("score", "weight", "selected", "present")
LATENT_FIELDS = ("n_points", "n_clusters", "purity", "nmi", "warning")
CURVE = "curve_accuracy"  # a metric series whose steps are checkpoints


def record_step(session: Session, run_id: str, record: StepRecord) -> None:
    """One optimizer step; a resumed run may log a step again, so earlier copies go first.

    Every scalar (and the epoch) becomes a named point, each perspective's stats one row.
    """
    step = record.step
    for table in (MetricPoint, PerspectiveWeight):
        session.execute(delete(table).where(table.run_id == run_id, table.step >= step))
    points = record.scalars | {"epoch": record.epoch}
    session.add_all(
        MetricPoint(run_id=run_id, step=step, name=name, value=float(value))
        for name, value in points.items()
        if value is not None
    )
    session.add_all(
        MetricPoint(run_id=run_id, step=step, name=f"{PROBE_PREFIX}{pid}"[:64], value=value)
        for pid, value in record.probe_ce.items()
    )
    session.add_all(
        PerspectiveWeight(run_id=run_id, step=step, perspective=pid, **_weights(stats))
        for pid, stats in record.perspectives.items()
    )


def _weights(stats: PerspectiveStats) -> dict[str, float | None]:
    return {k: None if (v := getattr(stats, k)) is None else float(v) for k in WEIGHT_FIELDS}


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
                    extractor_version=bench.get("extractor_version", "1"),
                )
            )


def record_curve(session: Session, run_id: str, data: dict[str, Any]) -> None:
    """A learning curve: accuracy per checkpoint step, as the `CURVE` metric series."""
    session.execute(
        delete(MetricPoint).where(MetricPoint.run_id == run_id, MetricPoint.name == CURVE)
    )
    session.add_all(
        MetricPoint(run_id=run_id, step=p["step"], name=CURVE, value=p["accuracy"])
        for p in data["points"]
    )


def record_latent(session: Session, run_id: str, data: dict[str, Any]) -> None:
    session.execute(delete(LatentAnalysis).where(LatentAnalysis.run_id == run_id))
    session.add(
        LatentAnalysis(
            run_id=run_id,
            model="trained",
            points=data.get("points", []),
            **{k: data.get(k) for k in LATENT_FIELDS},
        )
    )
    if "base" in data:
        session.add(
            LatentAnalysis(
                run_id=run_id, model="base", **{k: data["base"].get(k) for k in LATENT_FIELDS}
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


def step_records(
    session: Session, run_id: str, names: Sequence[str], every: int = 1
) -> list[StepRecord]:
    """The run's steps as records: the scalars named (all, probe CE included, if none) and
    every perspective's stats, thinned to every `every`-th step and the last (`step_stride`)."""
    scalars: dict[int, dict[str, float | None]] = defaultdict(dict)
    probes: dict[int, dict[str, float]] = defaultdict(dict)
    for name, series in metric_series(session, run_id, list(names), every).items():
        for step, value in zip(series["steps"], series["values"], strict=True):
            if name.startswith(PROBE_PREFIX):
                probes[step][name.removeprefix(PROBE_PREFIX)] = value
            else:
                scalars[step][name] = value
    stats: dict[int, dict[str, PerspectiveStats]] = defaultdict(dict)
    for pid, series in weight_series(session, run_id, every).items():
        for i, step in enumerate(series["steps"]):
            stats[step][pid] = PerspectiveStats(**{k: series[k][i] for k in WEIGHT_FIELDS})
    return [
        StepRecord(
            step,
            scalars=scalars.get(step, {}),
            perspectives=stats.get(step, {}),
            probe_ce=probes.get(step, {}),
        )
        for step in sorted(scalars.keys() | stats.keys() | probes.keys())
    ]


def evaluations(session: Session, run_id: str) -> list[EvaluationResult]:
    """The current evaluation of each (model, benchmark): the newest scoring of it."""
    query = select(EvaluationResult).where(EvaluationResult.run_id == run_id)
    current: dict[tuple[str, str], EvaluationResult] = {}
    for row in session.scalars(query.order_by(EvaluationResult.id)):
        current[(row.model, row.benchmark)] = row
    return sorted(current.values(), key=lambda r: (r.model != "trained", r.benchmark))


def evaluation(session: Session, run_id: str, benchmark: str, model: str) -> EvaluationResult:
    row = session.scalar(
        select(EvaluationResult)
        .where(
            EvaluationResult.run_id == run_id,
            EvaluationResult.benchmark == benchmark,
            EvaluationResult.model == model,
        )
        .order_by(EvaluationResult.id.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound(f"no {model} evaluation on {benchmark!r} for this run", "benchmark")
    return row


def can_rescore(user: User, run: Run, current: list[EvaluationResult]) -> bool:
    """Whether this user may rescore the run and some evaluation is stale."""
    return (user.is_admin or user.id == run.owner_id) and bool(stale_evaluations(current))


def stale_evaluations(rows: list[EvaluationResult]) -> list[EvaluationResult]:
    """The current evaluations scored by an older answer extractor than this one."""
    from mind.answers import EXTRACTOR_VERSION

    return [r for r in rows if r.extractor_version != EXTRACTOR_VERSION]


def rescore(session: Session, storage: Path, run: Run, user: User) -> list[EvaluationResult]:
    """Score the stored outputs of every stale evaluation again with the current extractor.

    Each gets a new evaluation row and its own predictions file; the old rows stay as
    they were. Gains are recomputed from the new trained and base accuracies. Raises
    Conflict when nothing is stale (or there is nothing to score), Forbidden for a user
    who neither owns the run nor is an admin.
    """
    from mind.answers import EXTRACTOR_VERSION

    if run.owner_id != user.id and not user.is_admin:
        raise Forbidden("only the run's owner or an admin can rescore it")
    current = evaluations(session, run.id)
    stale = stale_evaluations(current)
    if not stale:
        raise Conflict(
            f"every evaluation of this run is already scored by extractor version "
            f"{EXTRACTOR_VERSION}"
            if current
            else "this run has no evaluation to rescore"
        )
    benchmarks = {b["name"]: b["dataset"] for b in run.config.get("eval", {}).get("benchmarks", [])}
    fresh = {(r.model, r.benchmark): r for r in current}
    for row in stale:
        fresh[(row.model, row.benchmark)] = _rescored(session, storage, row, benchmarks)
    for (model, name), row in fresh.items():
        base = fresh.get(("base", name))
        if model == "trained" and row.extractor_version == EXTRACTOR_VERSION and base is not None:
            row.gain = row.accuracy - base.accuracy
    session.flush()
    return [fresh[(r.model, r.benchmark)] for r in stale]


def _rescored(
    session: Session, storage: Path, row: EvaluationResult, benchmarks: dict[str, str]
) -> EvaluationResult:
    """A new evaluation row from the outputs `row` stored, scored by the current extractor;
    an output stored before cut-off outputs were marked (`truncated`) counts as not cut."""
    from mind.answers import EXTRACTOR_VERSION, detect_answer_type
    from mind.data import read_questions
    from mind.scoring import score

    dataset_id = benchmarks.get(row.benchmark)
    if dataset_id is None or row.predictions_path is None:
        raise Conflict(f"benchmark {row.benchmark!r} of this run cannot be found to rescore")
    dataset = datasets.get(session, dataset_id)
    questions = {q.id: q for q in read_questions(storage / dataset.path)}
    source = storage / row.predictions_path
    if not source.exists():
        raise NotFound(f"the predictions file of {row.benchmark!r} is gone", "benchmark")
    with source.open(encoding="utf-8") as handle:
        stored = [json.loads(line) for line in handle if line.strip()]
    asked = [questions[r["id"]] for r in stored if r["id"] in questions]
    if len(asked) != len(stored):
        raise Conflict(f"benchmark {row.benchmark!r} no longer holds every evaluated question")
    kind = detect_answer_type(asked)
    outputs, cut = [r["output"] for r in stored], [r.get("truncated", False) for r in stored]
    n, accuracy, scored = score(asked, outputs, kind, cut)
    path = Path(row.predictions_path)
    target = path.with_name(f"{path.stem}.extractor-{EXTRACTOR_VERSION}.jsonl")
    with (storage / target).open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in scored)
    new = EvaluationResult(
        run_id=row.run_id,
        model=row.model,
        benchmark=row.benchmark,
        kind=row.kind,
        answer_type=kind,
        n=n,
        accuracy=accuracy,
        gain=None,
        predictions_path=str(target),
        extractor_version=EXTRACTOR_VERSION,
    )
    session.add(new)
    return new


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


def key_results(session: Session, run_ids: list[str]) -> dict[str, dict[str, float]]:
    """{run id: {"id": mean accuracy, "ood": ..., "id_gain": ..., "ood_gain": ...}}."""
    query = (
        select(
            EvaluationResult.run_id,
            EvaluationResult.kind,
            func.avg(EvaluationResult.accuracy),
            func.avg(EvaluationResult.gain),
        )
        .where(EvaluationResult.run_id.in_(run_ids), EvaluationResult.model == "trained")
        .group_by(EvaluationResult.run_id, EvaluationResult.kind)
    )
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for run_id, kind, accuracy, gain in session.execute(query):
        out[run_id][kind] = accuracy
        if gain is not None:
            out[run_id][f"{kind}_gain"] = gain
    return dict(out)


def predictions(
    session: Session,
    settings: Settings,
    run_id: str,
    benchmark: str,
    model: str,
    start: int,
    n: int,
) -> list[dict[str, Any]]:
    """Rows `start` to `start + n` of a benchmark's per-example predictions (JSONL)."""
    row = evaluation(session, run_id, benchmark, model)
    path = settings.storage / str(row.predictions_path)
    if not path.exists():
        raise NotFound(f"the predictions file of {benchmark!r} is gone", "benchmark")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in islice(handle, start, start + n)]


def artifact_file(
    session: Session, settings: Settings, run_id: str, name: str
) -> tuple[Path, str, BackgroundTask | None]:
    """(file, download name, cleanup) of an artifact; a folder (the adapter) is zipped into
    a scratch folder that the cleanup task removes once the response is sent."""
    row = artifact(session, run_id, name)
    path = settings.storage / row.path
    if not path.exists():
        raise NotFound(f"the file of artifact {name!r} is gone", "name")
    if not row.is_dir:
        return path, path.name, None
    scratch = Path(tempfile.mkdtemp(dir=settings.storage))
    archive = Path(shutil.make_archive(str(scratch / f"{run_id}-{name}"), "zip", path))
    return archive, archive.name, BackgroundTask(shutil.rmtree, scratch, ignore_errors=True)


def _means(benchmarks: dict[str, dict[str, Any]], field: str) -> dict[str, float | None]:
    out = {}
    for kind in ("id", "ood"):
        values = [b[field] for b in benchmarks.values() if b["kind"] == kind]
        out[f"{kind}_mean"] = sum(values) / len(values) if values else None
    return out


def eval_summaries(rows: list[EvaluationResult]) -> dict[str, dict[str, Any]]:
    """{model: eval.json-like summary}, for `plots.eval_bars` and the evaluation table."""
    by_model: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        by_model[r.model][r.benchmark] = {
            "accuracy": r.accuracy,
            "kind": r.kind,
            "n": r.n,
            "gain": r.gain,
            "answer_type": r.answer_type,
        }
    return {
        model: {"benchmarks": bench, **_means(bench, "accuracy")}
        for model, bench in by_model.items()
    }
