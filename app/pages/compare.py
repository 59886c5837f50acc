"""Comparing runs: loss and weight curves overlaid, evaluations side by side, config diff.

`mind.plots` draws one run per figure; the overlays here use the same look (title centred,
legend above the plot) with one colour per run.
"""

from __future__ import annotations

from collections.abc import Callable
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


def _scalar_overlay(runs: list[Run], rows: dict[str, list[StepRecord]], key: str) -> go.Figure:
    """One line per run of a per-step scalar; a run without it (zero-shot) draws nothing."""
    fig = go.Figure()
    for i, run in enumerate(runs):
        points = [r for r in rows[run.id] if r.get(key) is not None]
        fig.add_trace(
            go.Scatter(
                x=[r.step for r in points],
                y=[r.get(key) for r in points],
                mode="lines",
                name=label(run),
                line={"color": _colour(i)},
            )
        )
    return fig


def _perspective_overlay(
    runs: list[Run],
    rows: dict[str, list[StepRecord]],
    values: Callable[[StepRecord], dict[str, float]],
) -> go.Figure:
    """One line per run and perspective of `values(row)`: colour = run, dash = perspective."""
    fig = go.Figure()
    for i, run in enumerate(runs):
        points = [(r.step, values(r)) for r in rows[run.id]]
        ids = sorted({p for _, v in points for p in v})
        for j, perspective in enumerate(ids):
            fig.add_trace(
                go.Scatter(
                    x=[step for step, v in points if perspective in v],
                    y=[v[perspective] for _, v in points if perspective in v],
                    mode="lines",
                    name=f"{label(run)} · {perspective}",
                    line={"color": _colour(i), "dash": DASHES[j % len(DASHES)]},
                )
            )
    return fig


def _legend_below(fig: go.Figure) -> go.Figure:
    """One legend entry per run and perspective: too many for the space above the plot."""
    fig.update_layout(
        height=560,
        margin={"b": 170},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
    )
    return fig


def loss_overlay(runs: list[Run], rows: dict[str, list[StepRecord]]) -> go.Figure:
    """Total loss of each run."""
    fig = _scalar_overlay(runs, rows, "loss")
    return style_figure(fig, "Training loss (total)", "optimizer step", "loss")


def weight_overlay(runs: list[Run], rows: dict[str, list[StepRecord]]) -> go.Figure:
    """Weight of each perspective: colour = run, dash = perspective (legend: both)."""
    fig = _perspective_overlay(
        runs, rows, lambda r: {p: stats.weight for p, stats in r.perspectives.items()}
    )
    fig.update_yaxes(range=[0, 1])
    return _legend_below(style_figure(fig, "Perspective weights", "optimizer step", "weight"))


def selection_overlay(runs: list[Run], rows: dict[str, list[StepRecord]]) -> go.Figure:
    """Mean selected-set size of each run (MIND runs; others draw nothing)."""
    fig = _scalar_overlay(runs, rows, "selected_size")
    fig.update_yaxes(rangemode="tozero")
    return style_figure(fig, "Selected perspectives per question", "optimizer step", "mean |I|")


def probe_overlay(runs: list[Run], rows: dict[str, list[StepRecord]]) -> go.Figure:
    """Probe-set CE per perspective: colour = run, dash = perspective."""
    fig = _perspective_overlay(runs, rows, lambda r: r.probe_ce or {})
    title = "Probe-set CE per perspective"
    return _legend_below(style_figure(fig, title, "optimizer step", "CE (nats/token)"))


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
            "selection": figures.as_json(selection_overlay(runs, rows)),
            "probe": figures.as_json(probe_overlay(runs, rows)),
            "evaluation": figures.as_json(eval_overlay(runs, summaries)),
        },
        "summaries": summaries,
        "benchmarks": benchmarks,
        "diff": config_diff(runs),
    }
