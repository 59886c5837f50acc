"""The study page's Plotly figures, from its results and its runs' stored series."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from sqlalchemy.orm import Session

from app.pages.figures import MAX_POINTS, as_json
from app.results import service as run_results
from app.studies import plan, service
from app.studies.models import Study
from mind.plots import style_figure


def accuracy_bars(analysis: dict[str, Any], budget: str) -> go.Figure | None:
    """Accuracy per benchmark, one bar per method, with its 95% interval as error bars."""
    if not analysis["methods"]:
        return None
    fig = go.Figure()
    for method in analysis["methods"]:
        names = list(method["benchmarks"])
        rows = [method["benchmarks"][n] for n in names]
        fig.add_trace(
            go.Bar(
                x=names,
                y=[r["accuracy"] for r in rows],
                name=method["label"],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [r["high"] - r["accuracy"] for r in rows],
                    "arrayminus": [r["accuracy"] - r["low"] for r in rows],
                },
                customdata=[[r["n"], r["low"], r["high"]] for r in rows],
                hovertemplate="%{x}: %{y:.1%} [%{customdata[1]:.1%}, %{customdata[2]:.1%}]"
                f"<br>n %{{customdata[0]}}<extra>{method['label']}</extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    title = f"Accuracy with 95% intervals ({budget} budget)"
    return style_figure(fig, title, "benchmark", "accuracy")


def _cell_name(link_label: str, seed: int, budget: str) -> str:
    return f"{link_label} s{seed} ({budget})"


def learning_curves(curves: list[dict[str, Any]]) -> go.Figure | None:
    """Each trained cell's accuracy at its checkpoints on the fixed ID subset."""
    if not curves:
        return None
    fig = go.Figure()
    for c in curves:
        name = _cell_name(c["label"], c["seed"], c["budget"])
        steps = [p["step"] for p in c["points"]]
        fig.add_trace(go.Scatter(x=steps, y=[p["accuracy"] for p in c["points"]], name=name))
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    title = "Learning curves: accuracy at each checkpoint on a fixed ID subset"
    return style_figure(fig, title, "optimizer step", "accuracy")


def loss_curves(session: Session, rows: service.Cells) -> go.Figure | None:
    """The training loss of each trained cell against the optimizer step."""
    fig = go.Figure()
    for link, run in rows:
        every = run_results.step_stride(session, run.id, MAX_POINTS)
        series = run_results.metric_series(session, run.id, ["loss"], every).get("loss")
        if series:
            name = _cell_name(link.label, link.seed, link.budget)
            fig.add_trace(go.Scatter(x=series["steps"], y=series["values"], name=name))
    if not fig.data:
        return None
    return style_figure(fig, "Training loss per cell", "optimizer step", "loss")


def selection_curves(session: Session, rows: service.Cells) -> go.Figure | None:
    """The selection: mean perspectives selected per question at each step (MetaNet's for
    mind; a fixed method's line is the perspectives it always trains on)."""
    fig = go.Figure()
    for link, run in rows:
        every = run_results.step_stride(session, run.id, MAX_POINTS)
        weights = run_results.weight_series(session, run.id, every)
        sizes: dict[int, float] = {}
        for series in weights.values():
            for step, selected in zip(series["steps"], series["selected"], strict=True):
                sizes[step] = sizes.get(step, 0.0) + (selected or 0.0)
        if sizes:
            steps = sorted(sizes)
            name = _cell_name(link.label, link.seed, link.budget)
            fig.add_trace(go.Scatter(x=steps, y=[sizes[s] for s in steps], name=name))
    if not fig.data:
        return None
    fig.update_yaxes(rangemode="tozero")
    return style_figure(
        fig, "MetaNet selection: perspectives selected per question", "optimizer step", "size"
    )


def latent_bars(latent: list[dict[str, Any]]) -> go.Figure | None:
    """Purity and NMI of each trained cell's latent map (DPMM clusters vs perspectives)."""
    if not latent:
        return None
    names = [f"{row['label']} s{row['seed']}" for row in latent]
    fig = go.Figure(
        [go.Bar(x=names, y=[row[k] for row in latent], name=k) for k in ("purity", "nmi")]
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1.05])
    return style_figure(fig, "Latent maps: purity and NMI per cell", "cell", "score")


def _trained(rows: service.Cells, trained: set[str]) -> service.Cells:
    """Each trained run once (a run serving both budgets is drawn under the first)."""
    seen, out = set(), []
    for link, run in rows:
        if link.label in trained and run.id not in seen:
            seen.add(run.id)
            out.append((link, run))
    return out


def study_figures(
    session: Session, study: Study, rows: service.Cells, results: dict[str, Any]
) -> dict[str, dict[str, Any] | None]:
    """Every figure of the study page; None where there is no data for it yet."""
    rows = _trained(rows, {c.label for c in plan.cells(study.spec) if c.trains})
    figures = {
        f"accuracy-{budget}": accuracy_bars(analysis, budget)
        for budget, analysis in results["budgets"].items()
    }
    figures |= {
        "curves": learning_curves(results["curves"]),
        "loss": loss_curves(session, rows),
        "selection": selection_curves(session, rows),
        "latent": latent_bars(results["latent"]),
    }
    return {name: as_json(fig) for name, fig in figures.items()}
