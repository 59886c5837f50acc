"""The run's Plotly figures, built with `mind.plots` from the database, as JSON for plotly.js.

Long runs are thinned in the database to about `MAX_POINTS` steps, so a page costs the
same after a hundred steps or a hundred thousand.
"""

from __future__ import annotations

import json
from typing import Any

from plotly.graph_objects import Figure
from sqlalchemy.orm import Session

from app.results import service as results
from app.results.models import LatentAnalysis
from mind import plots
from mind.step_record import CURRICULUM, LOSSES, StepRecord

MAX_POINTS = 400


def training_rows(session: Session, run_id: str) -> list[StepRecord]:
    """Every scalar, probe CE and perspective stat of about `MAX_POINTS` steps."""
    every = results.step_stride(session, run_id, MAX_POINTS)
    return results.step_records(session, run_id, (), every)


def latent_title(row: LatentAnalysis) -> str:
    return (
        f"Latent map of the {row.model} student: {row.n_clusters} DPMM clusters, "
        f"purity {plots.purity_text(row.purity)}, NMI {row.nmi:.2f}"
    )


def as_json(fig: Figure | None) -> dict[str, Any] | None:
    """Plotly's own encoder (numpy, dates), read back so templates and responses embed it."""
    return None if fig is None else json.loads(fig.to_json())


def run_figures(session: Session, run_id: str) -> dict[str, dict[str, Any] | None]:
    """Every figure of the run page; None where the run has no data for it yet."""
    rows = training_rows(session, run_id)
    has_loss = any(r.get(name) is not None for r in rows for name in LOSSES)
    has_weights = any(r.perspectives for r in rows)
    has_curriculum = any(r.get(name) is not None for r in rows for name in CURRICULUM)
    summaries = results.eval_summaries(results.evaluations(session, run_id))
    trained = next((a for a in results.latent(session, run_id) if a.points), None)
    figures = {
        "loss": plots.loss_curves(rows) if has_loss else None,
        "weights": plots.weight_heatmap(rows) if has_weights else None,
        "selected": plots.selected_set_size(rows) if has_weights else None,
        "curriculum": plots.curriculum_curves(rows) if has_curriculum else None,
        "probe": plots.probe_ce_curves(rows) if any(r.probe_ce for r in rows) else None,
        "evaluation": (
            plots.eval_bars(summaries["trained"], summaries.get("base"))
            if "trained" in summaries
            else None
        ),
        "latent": plots.latent_map(trained.points, latent_title(trained)) if trained else None,
    }
    return {name: as_json(fig) for name, fig in figures.items()}
