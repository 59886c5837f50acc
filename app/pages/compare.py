"""Comparing runs: loss and weight curves overlaid, evaluations side by side, config diff.

`mind.plots` draws one run per figure; the overlays here use the same look (title centred,
legend above the plot) with one colour per run.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.colors import qualitative
from sqlalchemy.orm import Session

from app.pages import figures
from app.results import service as results
from app.runs.models import Run
from mind.plots import style_figure
from mind.step_record import StepRecord

DASHES = ("solid", "dot", "dash", "longdash", "dashdot", "longdashdot")


def label(run: Run) -> str:
    return f"{run.name} ({run.id[:6]})"


def _colour(i: int) -> str:
    return qualitative.Plotly[i % len(qualitative.Plotly)]


def loss_overlay(runs: list[Run], rows: dict[str, list[StepRecord]]) -> go.Figure:
    """Total loss of each run; a run without a total (zero-shot) draws nothing."""
    fig = go.Figure()
    for i, run in enumerate(runs):
        points = [r for r in rows[run.id] if r.get("loss") is not None]
        fig.add_trace(
            go.Scatter(
                x=[r.step for r in points],
                y=[r.get("loss") for r in points],
                mode="lines",
                name=label(run),
                line={"color": _colour(i)},
            )
        )
    return style_figure(fig, "Training loss (total)", "optimizer step", "loss")


def weight_overlay(runs: list[Run], rows: dict[str, list[StepRecord]]) -> go.Figure:
    """Weight of each perspective: colour = run, dash = perspective (legend: both)."""
    fig = go.Figure()
    for i, run in enumerate(runs):
        ids = sorted({p for r in rows[run.id] for p in r.perspectives})
        for j, perspective in enumerate(ids):
            points = [r for r in rows[run.id] if perspective in r.perspectives]
            fig.add_trace(
                go.Scatter(
                    x=[r.step for r in points],
                    y=[r.perspectives[perspective].weight for r in points],
                    mode="lines",
                    name=f"{label(run)} · {perspective}",
                    line={"color": _colour(i), "dash": DASHES[j % len(DASHES)]},
                )
            )
    fig.update_yaxes(range=[0, 1])
    style_figure(fig, "Perspective weights", "optimizer step", "weight")
    # One entry per run and perspective: too many for the space above the plot.
    fig.update_layout(
        height=560,
        margin={"b": 170},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
    )
    return fig


def eval_overlay(runs: list[Run], summaries: dict[str, dict[str, Any]]) -> go.Figure:
    """Accuracy of each run's trained student per benchmark, then the ID and OOD means."""
    names = sorted(
        {b for s in summaries.values() for b in s.get("benchmarks", {})},
        key=lambda b: next(
            s["benchmarks"][b]["kind"] != "id" for s in summaries.values() if b in s["benchmarks"]
        ),
    )
    categories = [*names, "ID mean", "OOD mean"]
    fig = go.Figure()
    for i, run in enumerate(runs):
        summary = summaries.get(run.id, {})
        bench = summary.get("benchmarks", {})
        values = [bench[c]["accuracy"] if c in bench else None for c in names]
        values += [summary.get("id_mean"), summary.get("ood_mean")]
        fig.add_trace(
            go.Bar(
                x=categories,
                y=values,
                name=label(run),
                marker={"color": _colour(i)},
                text=[None if v is None else f"{v:.1%}" for v in values],
                textposition="outside",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.1])
    return style_figure(fig, "Evaluation accuracy (trained students)", "benchmark", "accuracy")


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys to leaf values; lists of mappings (benchmarks) get their index."""
    if isinstance(config, dict):
        out: dict[str, Any] = {}
        for key, value in config.items():
            out |= flatten(value, f"{prefix}{key}.")
        return out
    if isinstance(config, list) and any(isinstance(v, dict) for v in config):
        out = {}
        for i, value in enumerate(config):
            out |= flatten(value, f"{prefix}{i}.")
        return out
    return {prefix.rstrip("."): config}


def config_diff(runs: list[Run]) -> list[tuple[str, list[Any]]]:
    """(key, value per run) for the keys whose values are not all the same."""
    flat = [flatten(run.config) for run in runs]
    keys = sorted({k for f in flat for k in f})
    missing = object()
    rows = []
    for key in keys:
        values = [f.get(key, missing) for f in flat]
        if any(v != values[0] for v in values[1:]):
            rows.append((key, [None if v is missing else v for v in values]))
    return rows


def compare(session: Session, runs: list[Run]) -> dict[str, Any]:
    """Everything the compare page shows."""
    rows = {run.id: figures.training_rows(session, run.id) for run in runs}
    summaries = {
        run.id: results.eval_summaries(results.evaluations(session, run.id)).get("trained", {})
        for run in runs
    }
    benchmarks = sorted({b for s in summaries.values() for b in s.get("benchmarks", {})})
    return {
        "figures": {
            "loss": figures.as_json(loss_overlay(runs, rows)),
            "weights": figures.as_json(weight_overlay(runs, rows)),
            "evaluation": figures.as_json(eval_overlay(runs, summaries)),
        },
        "summaries": summaries,
        "benchmarks": benchmarks,
        "diff": config_diff(runs),
    }
