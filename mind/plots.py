"""Plotly figures of a run, built from plain data: metrics rows, eval results, latent points.

Pure functions with no file I/O and no torch, so the web app can draw them from the
database and the CLI from files. The app serves plotly.js itself (no CDN).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from mind.perspectives import BUILTIN, builtin_order
from mind.step_record import LOSSES, StepRecord

CURRICULUM_LABELS = {  # StepRecord scalar -> legend label
    "selected_size": "mean |selected set|",
    "selection_entropy": "selection entropy (nats)",
    "score_loss_rank_corr": "Spearman(scores, -CE)",
}
MEANS = {"ID mean": "id_mean", "OOD mean": "ood_mean"}  # bar label -> eval.json key
# One colour per perspective on every chart and page: the eight built-in perspectives get
# eight distinct colours (Okabe-Ito, colour-blind safe, plus grey); `other:*` ones follow.
BUILTIN_COLOURS = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # green
    "#CC79A7",  # pink
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#555555",  # dark grey
)
OTHER_COLOURS = ("#882255", "#117733", "#332288", "#AA4499", "#44AA99", "#999933", "#661100")
PERSPECTIVE_COLOURS = dict(zip(BUILTIN, BUILTIN_COLOURS, strict=True))
BLANK_CELL_NOTE = "blank cell = the perspective had no rationale in that step's batch"
CLUSTER_SYMBOLS = ("circle", "square", "diamond", "cross", "x", "triangle-up", "star", "hexagon")


def perspective_colour(perspective_id: str) -> str:
    """The perspective's colour; an `other:*` one is fixed by its name (not by which others
    a chart happens to show), so it too keeps its colour everywhere."""
    if perspective_id in PERSPECTIVE_COLOURS:
        return PERSPECTIVE_COLOURS[perspective_id]
    index = sum(perspective_id.encode()) % len(OTHER_COLOURS)
    return OTHER_COLOURS[index]


def style_figure(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    """Shared look: readable at 900x450, legend above the plot so it never hides data."""
    fig.update_layout(
        title={"text": title, "x": 0.5, "xanchor": "center"},
        xaxis_title=x_title,
        yaxis_title=y_title,
        template="plotly_white",
        height=450,
        margin={"l": 70, "r": 30, "t": 90, "b": 60},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )
    return fig


def downsample(rows: list[Any], max_points: int) -> list[Any]:
    """At most `max_points` rows, evenly spaced, always keeping the first and the last."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    n = len(rows)
    if n <= max_points:
        return list(rows)
    return [rows[round(i * (n - 1) / (max_points - 1))] for i in range(max_points)]


def loss_curves(metrics: Sequence[StepRecord]) -> go.Figure:
    """Each loss term against the step; absent terms (None) are skipped, warm-up is shaded."""
    fig = go.Figure()
    for name in LOSSES:
        rows = [r for r in metrics if r.get(name) is not None]
        if rows:
            steps = [r.step for r in rows]
            fig.add_trace(
                go.Scatter(x=steps, y=[r.get(name) for r in rows], mode="lines", name=name)
            )
    warmup = [r.step for r in metrics if r.phase == "warmup"]
    if warmup:
        fig.add_vrect(
            x0=min(warmup) - 0.5,
            x1=max(warmup) + 0.5,
            fillcolor="grey",
            opacity=0.15,
            line_width=0,
            annotation_text="warm-up",
            annotation_position="top left",
        )
    return style_figure(fig, "Training losses", "optimizer step", "loss")


def _perspective_rows(metrics: Sequence[StepRecord]) -> tuple[list[StepRecord], list[str]]:
    """Rows that carry per-perspective data, and every perspective seen, in display order."""
    rows = [r for r in metrics if r.perspectives]
    ids = sorted({p for r in rows for p in r.perspectives}, key=builtin_order)
    return rows, ids


def weight_heatmap(metrics: Sequence[StepRecord]) -> go.Figure:
    """Weight alpha of each perspective (rows) at each step (columns); gaps where absent."""
    rows, ids = _perspective_rows(metrics)
    z = [[s.weight if (s := r.perspectives.get(p)) else None for r in rows] for p in ids]
    fig = go.Figure(
        go.Heatmap(
            x=[r.step for r in rows],
            y=ids,
            z=z,
            zmin=0,
            zmax=1,
            colorscale="Viridis",
            colorbar={"title": {"text": "weight"}},
            hovertemplate="step %{x}<br>%{y}<br>weight %{z:.3f}<extra></extra>",
        )
    )
    if any(v is None for row in z for v in row):
        fig.add_annotation(
            text=BLANK_CELL_NOTE,
            xref="paper",
            yref="paper",
            x=1,
            y=1.0,
            yanchor="bottom",
            showarrow=False,
            xanchor="right",
            font={"size": 11, "color": "#667085"},
        )
    return style_figure(fig, "Perspective weights", "optimizer step", "perspective")


def selected_set_size(metrics: Sequence[StepRecord]) -> go.Figure:
    """Mean size of the selected set I per question: the sum of per-perspective fractions."""
    rows, _ = _perspective_rows(metrics)
    sizes = [sum(s.selected or 0.0 for s in r.perspectives.values()) for r in rows]
    fig = go.Figure(go.Scatter(x=[r.step for r in rows], y=sizes, mode="lines", name="selected"))
    fig.update_yaxes(rangemode="tozero")
    return style_figure(
        fig, "Selected perspectives per question", "optimizer step", "mean |selected set|"
    )


def curriculum_curves(metrics: Sequence[StepRecord]) -> go.Figure:
    """Selected-set size, selection entropy and the score/loss rank correlation per step."""
    fig = go.Figure()
    for name, label in CURRICULUM_LABELS.items():
        rows = [r for r in metrics if r.get(name) is not None]
        if rows:
            steps = [r.step for r in rows]
            fig.add_trace(
                go.Scatter(x=steps, y=[r.get(name) for r in rows], mode="lines", name=label)
            )
    return style_figure(fig, "How MetaNet selects", "optimizer step", "value")


def probe_ce_curves(metrics: Sequence[StepRecord]) -> go.Figure:
    """CE of each perspective on the fixed probe questions, per step it was measured."""
    rows = [r for r in metrics if r.probe_ce]
    ids = sorted({p for r in rows for p in r.probe_ce}, key=builtin_order)
    fig = go.Figure()
    for perspective in ids:
        points = [r for r in rows if perspective in r.probe_ce]
        fig.add_trace(
            go.Scatter(
                x=[r.step for r in points],
                y=[r.probe_ce[perspective] for r in points],
                mode="lines",
                name=perspective,
                line={"color": perspective_colour(perspective)},
            )
        )
    return style_figure(fig, "Probe-set CE per perspective", "optimizer step", "CE (nats/token)")


def _accuracies(eval_json: dict[str, Any], categories: list[str]) -> list[float | None]:
    bench = eval_json.get("benchmarks", {})
    return [
        bench[c]["accuracy"] if c in bench else eval_json.get(MEANS.get(c, "")) for c in categories
    ]


def eval_bars(eval_json: dict[str, Any], base_eval_json: dict[str, Any] | None = None) -> go.Figure:
    """Accuracy per benchmark (ID first, then OOD), then the ID and OOD means; run vs base."""
    bench = eval_json.get("benchmarks", {})
    names = sorted(bench, key=lambda b: bench[b].get("kind") != "id")  # stable sort
    categories = names + [m for m, key in MEANS.items() if eval_json.get(key) is not None]
    runs = {"this run": eval_json}
    if base_eval_json:
        runs["base student"] = base_eval_json
    fig = go.Figure()
    for label, data in runs.items():
        values = _accuracies(data, categories)
        sizes = data.get("benchmarks", {})
        fig.add_trace(
            go.Bar(
                x=categories,
                y=values,
                name=label,
                text=[None if v is None else f"{v:.1%}" for v in values],
                textposition="outside",
                customdata=[sizes.get(c, {}).get("n", "") for c in categories],
                hovertemplate="%{x}<br>accuracy %{y:.1%}<br>n %{customdata}"
                f"<extra>{label}</extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.1])
    return style_figure(fig, "Evaluation accuracy", "benchmark", "accuracy")


def purity_text(value: float | None, digits: int = 2) -> str:
    """Latent purity as titles and tables show it: `n/a` where it does not apply (as many
    clusters as probe points, `mind.latent.purity_applies`)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def latent_map(points: list[dict[str, Any]], title: str) -> go.Figure:
    """t-SNE scatter: colour = perspective (one legend entry each), symbol = cluster."""
    fig = go.Figure()
    for perspective in sorted({p["perspective"] for p in points}, key=builtin_order):
        group = [p for p in points if p["perspective"] == perspective]
        fig.add_trace(
            go.Scatter(
                x=[p["x"] for p in group],
                y=[p["y"] for p in group],
                mode="markers",
                name=perspective,
                marker={
                    "size": 10,
                    "color": perspective_colour(perspective),
                    "symbol": [CLUSTER_SYMBOLS[p["cluster"] % len(CLUSTER_SYMBOLS)] for p in group],
                    "line": {"width": 0.5, "color": "white"},
                },
                customdata=[[p["question_id"], p["cluster"]] for p in group],
                hovertemplate="question %{customdata[0]}<br>cluster %{customdata[1]}"
                f"<extra>{perspective}</extra>",
            )
        )
    return style_figure(fig, title, "t-SNE 1", "t-SNE 2")
