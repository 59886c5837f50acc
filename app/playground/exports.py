"""Downloads of a run's student that load anywhere (`mind.export`), built on request in the
web tier's inference pool and kept under `runs/<id>/exports/step-N-<status>/<kind>/`.

A checkpoint of a cancelled or failed run exports like a finished one (its card says so);
the export of a step is rebuilt when the run's status changes, since the card reports it.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from fastapi.responses import FileResponse
from filelock import FileLock
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from app.datasets.models import Dataset, RunDataset
from app.errors import Conflict
from app.playground.pool import InferencePool
from app.playground.service import checkpoint_dir
from app.results.models import EvaluationResult, PerspectiveWeight
from app.runs.models import Run
from app.runs.status import RunStatus
from app.settings import Settings

if TYPE_CHECKING:
    from mind.config import RunConfig
    from mind.export import PerspectiveSummary

Kind = Literal["adapter", "merged", "card"]


def card_facts(session: Session, settings: Settings, run: Run, step: int):
    """Everything the model card says, from the database and the datasets' files."""
    from mind.config import RunConfig
    from mind.export import CardFacts
    from mind.licences import file_licences

    config = RunConfig.model_validate(run.config)  # frozen: validated at submission
    used = session.execute(
        select(RunDataset.role, Dataset)
        .join(Dataset, Dataset.id == RunDataset.dataset_id)
        .where(RunDataset.run_id == run.id)
        .order_by(RunDataset.role)
    )
    datasets = [
        {
            "name": d.name,
            "role": role,
            "rows": d.row_count,
            "licences": file_licences(settings.storage / d.path),
        }
        for role, d in used
    ]
    return CardFacts(
        name=run.name,
        config=config,
        step=step,
        status=run.status,
        perspectives=_perspectives(session, run, config, step),
        datasets=datasets,
        evaluations=_evaluations(session, run) if _is_final(settings, run, step) else [],
        run_id=run.id,
    )


def _perspectives(
    session: Session, run: Run, config: RunConfig, step: int
) -> dict[str, PerspectiveSummary]:
    """MetaNet's weights over the joint steps up to `step` (warm-up steps train MetaNet
    alone, so their weights say nothing of what the student learned from)."""
    from mind.export import summarise_perspectives
    from mind.methods import warmup_steps
    from mind.step_record import PerspectiveStats

    rows = session.scalars(
        select(PerspectiveWeight).where(
            PerspectiveWeight.run_id == run.id,
            PerspectiveWeight.step > warmup_steps(config),
            PerspectiveWeight.step <= step,
        )
    )
    steps: dict[int, dict[str, PerspectiveStats]] = {}
    for row in rows:
        present = None if row.present is None else int(row.present)
        stats = PerspectiveStats(row.score, row.weight, row.selected, present)
        steps.setdefault(row.step, {})[row.perspective] = stats
    return summarise_perspectives(steps)


def _is_final(settings: Settings, run: Run, step: int) -> bool:
    """Evaluations belong to the final checkpoint of a run that got that far."""
    return (
        run.status == RunStatus.SUCCEEDED
        and checkpoint_dir(settings, run, None).name == f"step-{step}"
    )


def _evaluations(session: Session, run: Run) -> list:
    from mind.export import Evaluation

    rows = session.scalars(select(EvaluationResult).where(EvaluationResult.run_id == run.id))
    by_model = {(r.model, r.benchmark): r for r in rows}
    return [
        Evaluation(
            r.benchmark,
            r.kind,
            r.n,
            r.accuracy,
            getattr(by_model.get(("base", r.benchmark)), "accuracy", None),
        )
        for (model, _), r in sorted(by_model.items())
        if model == "trained"
    ]


def build(
    session: Session,
    settings: Settings,
    pool: InferencePool | None,
    run: Run,
    kind: Kind,
    step: int | None,
) -> Path:
    """The export folder (or README.md for `card`), built once per step and status; a
    merged model is built under the `pool`'s loading lock (it loads the model)."""
    from mind.export import render_card, write_adapter, write_merged

    folder = checkpoint_dir(settings, run, step)
    number = int(folder.name.removeprefix("step-"))
    root = settings.storage / run.directory / "exports" / f"{folder.name}-{run.status}"
    root.mkdir(parents=True, exist_ok=True)
    adapter = folder / "adapter"
    if kind == "card":
        card = root / "README.md"
        card.write_text(render_card(card_facts(session, settings, run, number), "merged"), "utf-8")
        return card
    if kind == "adapter" and not adapter.is_dir():
        raise Conflict("this run fine-tuned every weight: it has no adapter; take `merged`", "kind")
    out = root / kind
    loading = pool.loading() if pool is not None and kind == "merged" else nullcontext()
    with FileLock(str(out) + ".lock"), loading:
        if not out.is_dir():
            facts = card_facts(session, settings, run, number)
            if kind == "adapter":
                write_adapter(adapter, out, facts)
            else:
                weights = (
                    (run.student, str(adapter))
                    if adapter.is_dir()
                    else (str(folder / "model"), None)
                )
                write_merged(weights, out, facts)
    return out


def zip_folder(storage: Path, folder: Path, name: str) -> tuple[Path, Path]:
    """(archive, scratch folder to delete after sending) of a folder's files."""
    scratch = Path(tempfile.mkdtemp(dir=storage))
    return Path(shutil.make_archive(str(scratch / name), "zip", folder)), scratch


def send(
    session: Session,
    settings: Settings,
    pool: InferencePool | None,
    run: Run,
    kind: Kind,
    step: int | None,
) -> FileResponse:
    """The export as a download: a zip of the folder, or the card as Markdown."""
    built = build(session, settings, pool, run, kind, step)
    if kind == "card":
        return FileResponse(built, media_type="text/markdown", filename=f"{run.id}-README.md")
    step_name = built.parent.name.split("-")[1]
    archive, scratch = zip_folder(settings.storage, built, f"{run.id}-{kind}-step-{step_name}")
    cleanup = BackgroundTask(shutil.rmtree, scratch, ignore_errors=True)
    return FileResponse(archive, filename=archive.name, background=cleanup)


def send_checkpoint(settings: Settings, run: Run, step: int) -> FileResponse:
    """A checkpoint as saved (weights, optimizer and trainer state): to resume elsewhere."""
    folder = checkpoint_dir(settings, run, step)
    archive, scratch = zip_folder(settings.storage, folder, f"{run.id}-checkpoint-{folder.name}")
    cleanup = BackgroundTask(shutil.rmtree, scratch, ignore_errors=True)
    return FileResponse(archive, filename=archive.name, background=cleanup)


def send_latest_adapter(session: Session, settings: Settings, run: Run) -> FileResponse:
    """The `adapter` artifact's download: its portable export (no pool: nothing is merged)."""
    return send(session, settings, None, run, "adapter", None)
