"""A study's results: every succeeded cell's per-question answers, analyzed per budget by
`mind.comparison`, with the latent-map metrics of each cell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.results import service as run_results
from app.runs.models import Run
from app.settings import Settings
from app.studies import plan, service
from app.studies.models import Study, StudyRun
from mind.comparison import CellScores, compare

LATENT_KEYS = ("n_points", "n_clusters", "purity", "nmi", "warning")


def _correct(path: Path) -> list[bool]:
    with path.open(encoding="utf-8") as handle:
        return [bool(json.loads(line)["correct"]) for line in handle if line.strip()]


def cell_scores(session: Session, settings: Settings, link: StudyRun, run: Run, trains: bool):
    """The run's right/wrong per question of each benchmark (its trained student)."""
    scores = CellScores(link.label, link.seed if trains else None)
    for row in run_results.evaluations(session, run.id):
        path = settings.storage / str(row.predictions_path)
        if row.model == "trained" and path.exists():
            scores.kinds[row.benchmark] = row.kind
            scores.correct[row.benchmark] = _correct(path)
    return scores


def latent_rows(session: Session, rows: service.Cells) -> list[dict[str, Any]]:
    """The trained student's latent-map metrics, once per succeeded run."""
    out, seen = [], set()
    for link, run in rows:
        if run.id in seen or run.status != service.SUCCEEDED:
            continue
        seen.add(run.id)
        for row in run_results.latent(session, run.id):
            if row.model == "trained":
                cell = {"label": link.label, "seed": link.seed, "run_id": run.id}
                out.append(cell | {k: getattr(row, k) for k in LATENT_KEYS})
    return out


def curve_rows(session: Session, rows: service.Cells) -> list[dict[str, Any]]:
    """Each trained run's learning curve (accuracy per checkpoint step), once per run."""
    out, seen = [], set()
    for link, run in rows:
        if run.id in seen:
            continue
        seen.add(run.id)
        series = run_results.metric_series(session, run.id, [run_results.CURVE]).get(
            run_results.CURVE
        )
        if series:
            points = [
                {"step": s, "accuracy": a}
                for s, a in zip(series["steps"], series["values"], strict=True)
            ]
            out.append(
                {"label": link.label, "seed": link.seed, "budget": link.budget} | {"points": points}
            )
    return out


def study_results(session: Session, settings: Settings, study: Study) -> dict[str, Any]:
    """Per budget, `mind.comparison.compare` over the succeeded cells (methods in the
    spec's order, the base student first); cells still running are left out."""
    rows = service.cells(session, study)
    order = {c.label: i for i, c in enumerate(plan.cells(study.spec))}
    trains = {c.label: c.trains for c in plan.cells(study.spec)}
    budgets = {}
    for budget in plan.BUDGETS:
        done = sorted(
            (
                (link, run)
                for link, run in rows
                if link.budget == budget and run.status == service.SUCCEEDED
            ),
            key=lambda item: (order[item[0].label], item[0].seed),
        )
        scores = [
            cell_scores(session, settings, link, run, trains[link.label]) for link, run in done
        ]
        budgets[budget] = compare(scores, plan.cells(study.spec)[0].label)
    return {
        "study_id": study.id,
        "status": service.status(study, rows),
        "budgets": budgets,
        "cells": service.describe(session, study)["cells"],
        "latent": latent_rows(session, rows),
        "curves": curve_rows(session, rows),
    }
