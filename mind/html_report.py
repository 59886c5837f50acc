"""`report.html`: one self-contained page with a run's figures and tables (no CDN)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from mind import plots
from mind.export import public_config
from mind.step_record import StepRecord

MAX_PLOTTED_STEPS = 2000


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _read_metrics(path: Path) -> list[StepRecord]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [StepRecord.from_dict(json.loads(line)) for line in lines if line.strip()]


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _eval_table(result: dict[str, Any], base: dict[str, Any] | None) -> str:
    rows = []
    for name, b in result["benchmarks"].items():
        base_acc = base["benchmarks"].get(name, {}).get("accuracy") if base else None
        gain = None if base_acc is None else b["accuracy"] - base_acc
        rows.append([name, b["kind"], b["n"], b["accuracy"], base_acc, gain])
    for kind in ("id", "ood"):
        mean, base_mean = result.get(f"{kind}_mean"), (base or {}).get(f"{kind}_mean")
        gain = None if mean is None or base_mean is None else mean - base_mean
        rows.append([f"{kind.upper()} mean", kind, "", mean, base_mean, gain])
    return _table(["benchmark", "kind", "n", "accuracy", "base student", "gain"], rows)


def _figures(run_dir: Path) -> list[tuple[str, go.Figure]]:
    metrics = plots.downsample(_read_metrics(run_dir / "metrics.jsonl"), MAX_PLOTTED_STEPS)
    figures: list[tuple[str, go.Figure]] = []
    if metrics:
        figures.append(("Losses", plots.loss_curves(metrics)))
        figures.append(("Perspective weights", plots.weight_heatmap(metrics)))
        figures.append(("Selected set", plots.selected_set_size(metrics)))
    result, base = _read_json(run_dir / "eval.json"), _read_json(run_dir / "eval_base.json")
    if result:
        figures.append(("Evaluation", plots.eval_bars(result, base)))
    maps = (
        ("Latent map: trained student", run_dir),
        ("Latent map: base student", run_dir / "base"),
    )
    for label, folder in maps:
        latent = _read_json(folder / "latent.json")
        if latent:
            title = (
                f"{label} ({latent['n_clusters']} clusters, purity {latent['purity']:.2f}, "
                f"NMI {latent['nmi']:.2f})"
            )
            figures.append((label, plots.latent_map(latent["points"], title)))
    return figures


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#222}
table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}section{margin:2rem 0}
"""


def write_report(run_dir: Path) -> Path:
    """Build run_dir/report.html from the files the pipeline wrote."""
    config = public_config(_read_json(run_dir / "config.json") or {})
    summary = _read_json(run_dir / "summary.json") or {}
    parts = [
        f"<h1>MIND run: {html.escape(str(config.get('method')))} on "
        f"{html.escape(str(config.get('student')))}</h1>",
        _table(
            ["status", "steps", "examples", "wall time (s)", "final loss"],
            [
                [
                    summary.get("status"),
                    summary.get("steps"),
                    summary.get("examples"),
                    summary.get("wall_time_s"),
                    (summary.get("final") or {}).get("loss"),
                ]
            ],
        ),
    ]
    result = _read_json(run_dir / "eval.json")
    if result:
        parts.append(
            "<h2>Evaluation</h2>" + _eval_table(result, _read_json(run_dir / "eval_base.json"))
        )
    for i, (title, fig) in enumerate(_figures(run_dir)):
        div = fig.to_html(full_html=False, include_plotlyjs=i == 0, default_width="100%")
        parts.append(f"<section><h2>{html.escape(title)}</h2>{div}</section>")
    parts.append(
        "<h2>Configuration</h2><pre>" + html.escape(json.dumps(config, indent=2)) + "</pre>"
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>MIND run report</title>"
        f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )
    path = run_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
