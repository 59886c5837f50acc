"""`report.html`: one self-contained page with a run's figures and tables (no CDN)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape

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


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _eval_rows(result: dict[str, Any], base: dict[str, Any] | None) -> list[list[Any]]:
    rows = []
    for name, b in result["benchmarks"].items():
        base_acc = base["benchmarks"].get(name, {}).get("accuracy") if base else None
        gain = None if base_acc is None else b["accuracy"] - base_acc
        rows.append([name, b["kind"], b["n"], b["accuracy"], base_acc, gain])
    for kind in ("id", "ood"):
        mean, base_mean = result.get(f"{kind}_mean"), (base or {}).get(f"{kind}_mean")
        gain = None if mean is None or base_mean is None else mean - base_mean
        rows.append([f"{kind.upper()} mean", kind, "", mean, base_mean, gain])
    return rows


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
            purity = plots.purity_text(latent["purity"])
            nmi = f"{latent['nmi']:.2f}"
            title = f"{label} ({latent['n_clusters']} clusters, purity {purity}, NMI {nmi})"
            figures.append((label, plots.latent_map(latent["points"], title)))
    return figures


TEMPLATES = Environment(
    loader=PackageLoader("mind", "templates"), autoescape=select_autoescape(["html"])
)
TEMPLATES.filters["cell"] = _cell


def write_report(run_dir: Path) -> Path:
    """Build run_dir/report.html (templates/report.html) from the files the pipeline wrote."""
    config = public_config(_read_json(run_dir / "config.json") or {})
    result = _read_json(run_dir / "eval.json")
    figures = [
        (title, fig.to_html(full_html=False, include_plotlyjs=i == 0, default_width="100%"))
        for i, (title, fig) in enumerate(_figures(run_dir))
    ]
    page = TEMPLATES.get_template("report.html").render(
        config=config,
        config_json=json.dumps(config, indent=2),
        summary=_read_json(run_dir / "summary.json") or {},
        evaluation=_eval_rows(result, _read_json(run_dir / "eval_base.json")) if result else None,
        figures=figures,
    )
    path = run_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
