"""Does MIND's selection adapt? The issue-11 check on the real student, `paper` vs `adaptive`.

Trains the bundled student (`mind train`, a subprocess of this interpreter) on SVAMP
rationales with 4 perspectives, 8 questions and 40 steps, once per preset, then prints per
preset: the mean selected-set size after warm-up, each perspective's selection frequency in
the first and second half of the joint steps, the largest change, whether metrics.jsonl
has the per-step curriculum fields, and the trained vs presented tokens. It draws the
selection curves and probe-set CE of both presets into `docs/figures/curriculum/`.

    python -m experiments.curriculum --out runs/curriculum       # train both, then report
    python -m experiments.curriculum --out runs/curriculum --report-only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

SHARED = Path(os.environ.get("MIND_SHARED", "../shared"))
PERSPECTIVES = ["formal_symbolic", "decomposition", "planning", "other:standard_cot"]
PRESETS = ("paper", "adaptive")
NEW_FIELDS = (
    "selected_size",
    "selection_entropy",
    "score_loss_rank_corr",
    "probe_ce",
    "tokens_trained",
)
FIGURES = Path("docs/figures/curriculum")


def run_config(shared: Path, preset: str) -> dict[str, Any]:
    return {
        "student": "smollm2-135m-instruct",
        "method": "mind",
        "perspectives": PERSPECTIVES,
        "data": {
            "questions": str(shared / "datasets/svamp/test.jsonl"),
            "rationales": str(shared / "teacher_rationales/svamp_test.jsonl"),
            "max_questions": 8,
        },
        "train": {
            "max_steps": 40,
            "questions_per_batch": 1,
            "max_seq_len": 256,
            "probe_questions": 2,
            "probe_every": 4,
        },
        "mind": {"preset": preset},
        "seed": 0,
    }


def train(shared: Path, out: Path, preset: str) -> None:
    run_dir = out / preset
    run_dir.mkdir(parents=True, exist_ok=True)
    config = run_dir.parent / f"{preset}.yaml"
    config.write_text(yaml.safe_dump(run_config(shared, preset)))
    command = [sys.executable, "-m", "mind.cli", "train", "--config", str(config)]
    subprocess.run([*command, "--output", str(run_dir), "--no-progress"], check=True)


def read_rows(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def selection_frequency(rows: list[dict[str, Any]], perspective: str) -> float:
    """Fraction of the rows' (question, perspective) pairs in which it was selected."""
    selected = sum(
        r["perspectives"][perspective]["selected"] * r["perspectives"][perspective]["present"]
        for r in rows
        if perspective in r["perspectives"]
    )
    present = sum(
        r["perspectives"][perspective]["present"] for r in rows if perspective in r["perspectives"]
    )
    return selected / present if present else 0.0


def summarise(run_dir: Path) -> dict[str, Any]:
    rows = read_rows(run_dir)
    joint = [r for r in rows if r["phase"] == "joint"]
    half = len(joint) // 2
    first = {p: selection_frequency(joint[:half], p) for p in PERSPECTIVES}
    second = {p: selection_frequency(joint[half:], p) for p in PERSPECTIVES}
    summary = json.loads((run_dir / "summary.json").read_text())
    return {
        "joint_steps": len(joint),
        "mean_selected_size": sum(r["selected_size"] for r in joint) / len(joint),
        "selection_first_half": first,
        "selection_second_half": second,
        "max_frequency_change": max(abs(second[p] - first[p]) for p in PERSPECTIVES),
        "mean_cons_loss": sum(r["cons_loss"] or 0.0 for r in joint) / len(joint),
        "new_fields_present": all(all(f in r for f in NEW_FIELDS) for r in rows),
        "warnings": [
            json.loads(line)["message"]
            for line in (run_dir / "events.jsonl").read_text().splitlines()
            if json.loads(line)["kind"] == "warning"
        ],
        "tokens_presented": summary["tokens_presented"],
        "tokens_trained": summary["tokens_trained"],
    }


def draw(out: Path, figures: Path) -> list[Path]:
    """Selection frequency per perspective and probe CE per perspective, one column each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in ("selection", "probe_ce"):
        fig, axes = plt.subplots(1, len(PRESETS), figsize=(12, 4.2), sharey=True)
        for ax, preset in zip(axes, PRESETS, strict=True):
            rows = read_rows(out / preset)
            for p in PERSPECTIVES:
                if kind == "selection":
                    points = [
                        (r["step"], r["perspectives"][p]["selected"])
                        for r in rows
                        if p in r["perspectives"]
                    ]
                else:
                    points = [
                        (r["step"], r["probe_ce"][p])
                        for r in rows
                        if r.get("probe_ce") and p in r["probe_ce"]
                    ]
                ax.plot([s for s, _ in points], [v for _, v in points], label=p)
            warmup = [r["step"] for r in rows if r["phase"] == "warmup"]
            if warmup:
                ax.axvspan(0.5, max(warmup) + 0.5, color="grey", alpha=0.15, label="warm-up")
            ax.set_title(f"mind.preset: {preset}")
            ax.set_xlabel("optimizer step")
        axes[0].set_ylabel("fraction selected" if kind == "selection" else "probe CE (nats/token)")
        axes[-1].legend(fontsize=8)
        fig.tight_layout()
        path = figures / f"{kind}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/curriculum"))
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--report-only", action="store_true", help="analyse existing runs")
    parser.add_argument("--train", nargs="+", choices=PRESETS, default=list(PRESETS))
    parser.add_argument("--figures", type=Path, default=FIGURES)
    args = parser.parse_args(argv)
    if not args.report_only:
        for preset in args.train:
            train(args.shared, args.out, preset)
    report = {preset: summarise(args.out / preset) for preset in PRESETS}
    report["figures"] = [str(p) for p in draw(args.out, args.figures)]
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
