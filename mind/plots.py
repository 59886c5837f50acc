"""Plotly figures of a run, built from plain data: metrics rows, eval results, latent points.

Pure functions with no file I/O and no torch, so the web app can draw them from the
database and the CLI from files. The app serves plotly.js itself (no CDN).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from mind.perspectives import builtin_order

LOSSES = ("loss", "sft_loss", "cons_loss", "meta_loss")
CURRICULUM = {  # StepRecord field -> legend label
    "selected_size": "mean |selected set|",
    "selection_entropy": "selection entropy (nats)",
    "score_loss_rank_corr": "Spearman(scores, -CE)",
}
MEANS = {"ID mean": "id_mean", "OOD mean": "ood_mean"}  # bar label -> eval.json key
CLUSTER_SYMBOLS = ("circle", "square", "diamond", "cross", "x", "triangle-up", "star", "hexagon")


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


def loss_curves(metrics: list[dict[str, Any]]) -> go.Figure:
    """Each loss term against the step; absent terms (None) are skipped, warm-up is shaded."""
    fig = go.Figure()
    for name in LOSSES:
        rows = [r for r in metrics if r.get(name) is not None]
        if rows:
            steps = [r["step"] for r in rows]
            fig.add_trace(go.Scatter(x=steps, y=[r[name] for r in rows], mode="lines", name=name))
    warmup = [r["step"] for r in metrics if r.get("phase") == "warmup"]
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
    return style_figure(fig, "Training losses", "optimiser step", "loss")


def _perspective_rows(metrics: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows that carry per-perspective data, and every perspective seen, in display order."""
    rows = [r for r in metrics if r.get("perspectives")]
    ids = sorted({p for r in rows for p in r["perspectives"]}, key=builtin_order)
    return rows, ids


def weight_heatmap(metrics: list[dict[str, Any]]) -> go.Figure:
    """Weight alpha of each perspective (rows) at each step (columns); gaps where absent."""
    rows, ids = _perspective_rows(metrics)
    z = [[r["perspectives"].get(p, {}).get("weight") for r in rows] for p in ids]
    fig = go.Figure(
        go.Heatmap(
            x=[r["step"] for r in rows],
            y=ids,
            z=z,
            zmin=0,
            zmax=1,
            colorscale="Viridis",
            colorbar={"title": {"text": "weight"}},
            hovertemplate="step %{x}<br>%{y}<br>weight %{z:.3f}<extra></extra>",
        )
    )
    return style_figure(fig, "Perspective weights", "optimiser step", "perspective")


def selected_set_size(metrics: list[dict[str, Any]]) -> go.Figure:
    """Mean size of the selected set I per question: the sum of per-perspective fractions."""
    rows, _ = _perspective_rows(metrics)
    sizes = [sum(v.get("selected", 0.0) for v in r["perspectives"].values()) for r in rows]
    fig = go.Figure(go.Scatter(x=[r["step"] for r in rows], y=sizes, mode="lines", name="selected"))
    fig.update_yaxes(rangemode="tozero")
    return style_figure(
        fig, "Selected perspectives per question", "optimiser step", "mean |selected set|"
    )


def curriculum_curves(metrics: list[dict[str, Any]]) -> go.Figure:
    """Selected-set size, selection entropy and the score/loss rank correlation per step."""
    fig = go.Figure()
    for name, label in CURRICULUM.items():
        rows = [r for r in metrics if r.get(name) is not None]
        if rows:
            steps = [r["step"] for r in rows]
            fig.add_trace(go.Scatter(x=steps, y=[r[name] for r in rows], mode="lines", name=label))
    return style_figure(fig, "How MetaNet selects", "optimiser step", "value")


def probe_ce_curves(metrics: list[dict[str, Any]]) -> go.Figure:
    """CE of each perspective on the fixed probe questions, per step it was measured."""
    rows = [r for r in metrics if r.get("probe_ce")]
    ids = sorted({p for r in rows for p in r["probe_ce"]}, key=builtin_order)
    fig = go.Figure()
    for perspective in ids:
        points = [r for r in rows if perspective in r["probe_ce"]]
        fig.add_trace(
            go.Scatter(
                x=[r["step"] for r in points],
                y=[r["probe_ce"][perspective] for r in points],
                mode="lines",
                name=perspective,
            )
        )
    return style_figure(fig, "Probe-set CE per perspective", "optimiser step", "CE (nats/token)")


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
                    "symbol": [CLUSTER_SYMBOLS[p["cluster"] % len(CLUSTER_SYMBOLS)] for p in group],
                    "line": {"width": 0.5, "color": "white"},
                },
                customdata=[[p["question_id"], p["cluster"]] for p in group],
                hovertemplate="question %{customdata[0]}<br>cluster %{customdata[1]}"
                f"<extra>{perspective}</extra>",
            )
        )
    return style_figure(fig, title, "t-SNE 1", "t-SNE 2")
