"""Static figures committed beside docs/results.md: PNG through matplotlib.

The runs' own interactive maps (latent.html, report.html) live under runs/, which is not
committed; these images let the report be read on its own, on GitHub or offline.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI

import matplotlib.pyplot as plt

from mind.plots import perspective_colour, purity_text

DPI = 110
PANEL_COLUMNS = 3
COLOURS = plt.get_cmap("tab10").colors


def _colour_of(names: list[str]) -> dict[str, Any]:
    return {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(names)}


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def accuracy_bars(methods: dict[str, dict[str, Any]], path: Path) -> Path:
    """Accuracy per benchmark and method, with the Wilson 95% interval as error bars."""
    benchmarks = list(next(iter(methods.values()))["benchmarks"])
    width = 0.8 / len(methods)
    colour = _colour_of(list(methods))
    fig, ax = plt.subplots(figsize=(1.6 + 2.2 * len(benchmarks), 3.6))
    for i, (method, summary) in enumerate(methods.items()):
        rows = [summary["benchmarks"][b] for b in benchmarks]
        accs = [100 * r["accuracy"] for r in rows]
        lows = [100 * (r["accuracy"] - r["ci"][0]) for r in rows]
        highs = [100 * (r["ci"][1] - r["accuracy"]) for r in rows]
        xs = [j + (i - (len(methods) - 1) / 2) * width for j in range(len(benchmarks))]
        ax.bar(xs, accs, width, yerr=[lows, highs], capsize=2, label=method, color=colour[method])
    ax.set_xticks(range(len(benchmarks)), benchmarks)
    ax.set_ylabel("accuracy (%)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Accuracy with 95% Wilson intervals (mean over seeds)", fontsize=10)
    return _save(fig, path)


def latent_grid(panels: list[tuple[str, dict[str, Any]]], path: Path) -> Path:
    """One t-SNE map per student, points coloured by perspective, cluster metrics above."""
    perspectives = sorted({p["perspective"] for _, lat in panels for p in lat["points"]})
    colour = {p: perspective_colour(p) for p in perspectives}
    columns = min(PANEL_COLUMNS, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3.8 * rows), squeeze=False)
    for ax, (title, latent) in zip(axes.flat, panels, strict=False):
        for perspective in perspectives:
            points = [p for p in latent["points"] if p["perspective"] == perspective]
            xs, ys = [p["x"] for p in points], [p["y"] for p in points]
            ax.scatter(xs, ys, s=14, color=colour[perspective], label=perspective)
        ax.set_title(
            f"{title}\n{latent['n_clusters']} clusters, "
            f"purity {purity_text(latent.get('purity'))}, "
            f"NMI {latent['nmi']:.2f}",
            fontsize=9,
        )
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(perspectives), fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _save(fig, path)


def weight_curves(runs: list[tuple[str, list[dict[str, Any]]]], path: Path) -> Path:
    """Per mind run: MetaNet's score per perspective, and its weight in the loss after the
    beta selection (0 when dropped), at every step; warm-up shaded."""
    fields = (("score", "MetaNet score"), ("weight", "weight in the loss"))
    fig, axes = plt.subplots(len(runs), 2, figsize=(11, 2.8 * len(runs)), squeeze=False)
    for row, (name, metrics) in zip(axes, runs, strict=True):
        perspectives = sorted({p for r in metrics for p in r["perspectives"]})
        colour = {p: perspective_colour(p) for p in perspectives}
        steps = [r["step"] for r in metrics]
        warmup = [r["step"] for r in metrics if "warmup" in r["phase"]]
        for ax, (field, label) in zip(row, fields, strict=True):
            for perspective in perspectives:
                values = [
                    r["perspectives"].get(perspective, {}).get(field, math.nan) for r in metrics
                ]
                ax.plot(steps, values, color=colour[perspective], label=perspective, linewidth=1.2)
            if warmup:
                ax.axvspan(min(warmup) - 0.5, max(warmup) + 0.5, color="0.9", label="warm-up")
            ax.set_title(f"{name}: {label}", fontsize=9)
            ax.set_xlabel("optimizer step")
        row[0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return _save(fig, path)
