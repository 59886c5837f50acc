"""Aggregate the quality experiment's runs into OUT/results.json and docs/results.md.

Only numbers are generated: the hand-written analysis lives in docs/results_notes.md and
is copied in, so rerunning the experiment never erases it.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from experiments import quality_figures
from experiments.quality_design import BENCHMARKS, METHODS, PERSPECTIVES
from mind.methods import METHODS as METHOD_TABLE
from mind.plots import purity_text

ALPHA = 0.05  # 95% intervals
TRAJECTORY_PARTS = 10
NO_RUN = "_No finished run yet._"
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    keep_trailing_newline=True,
    undefined=StrictUndefined,
)
NOTES_PLACEHOLDER = (
    "_No analysis yet. Write it in `docs/results_notes.md`: the script copies that file here "
    "on every run._"
)


def wilson(correct: float, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Wilson score interval of a proportion (statsmodels): sound near 0 and 1, small n."""
    from statsmodels.stats.proportion import proportion_confint

    if n == 0:
        return 0.0, 1.0
    low, high = proportion_confint(correct, n, alpha=alpha, method="wilson")
    return float(low), float(high)


def mcnemar(a: list[bool], b: list[bool]) -> tuple[int, int, float]:
    """(only a right, only b right, exact two-sided p) for two students on the same questions.

    The paired test (statsmodels' exact McNemar): questions both get right or both get
    wrong say nothing about which is better, so only the disagreements count, as a fair
    coin under the null.
    """
    from statsmodels.stats.contingency_tables import mcnemar as exact_mcnemar

    if len(a) != len(b):
        raise ValueError(f"paired results need the same questions, got {len(a)} and {len(b)}")
    pairs = list(zip(a, b, strict=True))
    table = [[sum(x and y for x, y in pairs), sum(x and not y for x, y in pairs)]]
    table.append([sum(y and not x for x, y in pairs), sum(not (x or y) for x, y in pairs)])
    p = exact_mcnemar(table, exact=True).pvalue
    return table[0][1], table[1][0], float(min(1.0, p))


def _json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _bench_rows(eval_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = {}
    for name, b in eval_json["benchmarks"].items():
        correct = round(b["accuracy"] * b["n"])
        rows[name] = {
            "n": b["n"],
            "correct": correct,
            "accuracy": b["accuracy"],
            "ci": wilson(correct, b["n"]),
        }
    return rows


def weight_trajectory(run_dir: Path, max_steps: int) -> list[dict[str, Any]]:
    """Mean weight per perspective over each tenth of the optimizer steps."""
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    parts: list[list[dict[str, Any]]] = [[] for _ in range(TRAJECTORY_PARTS)]
    for row in rows:
        parts[(row["step"] - 1) * TRAJECTORY_PARTS // max_steps].append(row)
    out = []
    for part in parts:
        if not part:
            continue
        weights = {
            p: mean(r["perspectives"][p]["weight"] for r in part if p in r["perspectives"])
            for p in PERSPECTIVES
            if any(p in r["perspectives"] for r in part)
        }
        phases = sorted({r["phase"] for r in part})
        out.append(
            {
                "steps": [part[0]["step"], part[-1]["step"]],
                "phase": "+".join(phases),
                "weights": weights,
            }
        )
    return out


def run_result(run_dir: Path) -> dict[str, Any] | None:
    """Everything the report needs from one finished run directory, or None."""
    from mind.pipeline import STAGES, STATE_FILE

    state = _json(run_dir / STATE_FILE) or {}
    if not set(STAGES) <= set(state):
        return None
    config = _json(run_dir / "config.json")
    evaluated, base = _json(run_dir / "eval.json"), _json(run_dir / "eval_base.json")
    latent_keys = ("n_points", "n_clusters", "purity", "nmi")
    latent, base_latent = _json(run_dir / "latent.json"), _json(run_dir / "base/latent.json")
    summary = _json(run_dir / "summary.json") or {}
    result = {
        "method": config["method"],
        "seed": config["seed"],
        "max_steps": config["train"]["max_steps"],
        "steps": summary.get("steps", 0),
        "tokens_seen": summary.get("tokens_presented", 0),
        "benchmarks": _bench_rows(evaluated),
        "id_mean": evaluated["id_mean"],
        "ood_mean": evaluated["ood_mean"],
        "gain_id": evaluated["id_mean"] - base["id_mean"],
        "gain_ood": evaluated["ood_mean"] - base["ood_mean"],
        "latent": {k: latent[k] for k in latent_keys},
        "base_latent": {k: base_latent[k] for k in latent_keys},
        "timing": _json(run_dir / "timing.json") or {},
        "config": config,
    }
    if METHOD_TABLE[config["method"]].uses_metanet:
        result["trajectory"] = weight_trajectory(run_dir, config["train"]["max_steps"])
    return result


def correctness(run_dir: Path) -> dict[str, list[bool]]:
    """Per benchmark, whether each evaluated question was answered right, in file order."""
    return {
        path.stem: [json.loads(line)["correct"] for line in path.read_text().splitlines()]
        for path in sorted((run_dir / "predictions").glob("*.jsonl"))
    }


def paired_with_mind(out: Path, runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """mind against every other run of its seed and against zero_shot, per benchmark."""
    rows = []
    right = {name: correctness(out / name) for name in runs}  # each file read once
    for name, run in runs.items():
        if not METHOD_TABLE[run["method"]].uses_metanet:
            continue
        mind = right[name]
        others = [
            other
            for other, r in runs.items()
            if not METHOD_TABLE[r["method"]].trains
            or (r["seed"] == run["seed"] and not METHOD_TABLE[r["method"]].uses_metanet)
        ]
        for other in others:
            theirs = right[other]
            for bench in BENCHMARKS:
                if bench in mind and bench in theirs:
                    only_mind, only_other, p = mcnemar(mind[bench], theirs[bench])
                    rows.append(
                        {"mind": name, "other": other, "benchmark": bench}
                        | {"only_mind": only_mind, "only_other": only_other, "p": p}
                    )
    return rows


def method_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over a method's seeds; each benchmark's interval is Wilson at the mean accuracy.

    That interval reflects the sampling of the evaluated questions (the seeds share them);
    the spread over seeds is reported beside it.
    """
    benchmarks = {}
    for name in runs[0]["benchmarks"]:
        accs = [r["benchmarks"][name]["accuracy"] for r in runs]
        n = runs[0]["benchmarks"][name]["n"]
        acc = mean(accs)
        benchmarks[name] = {
            "n": n,
            "accuracy": acc,
            "ci": wilson(acc * n, n),
            "seed_range": [min(accs), max(accs)],
        }
    phases = {p for r in runs for p in r["timing"]}
    return {
        "seeds": [r["seed"] for r in runs],
        "benchmarks": benchmarks,
        **{k: mean(r[k] for r in runs) for k in ("id_mean", "ood_mean", "gain_id", "gain_ood")},
        "steps": mean(r["steps"] for r in runs),
        "tokens_seen": mean(r["tokens_seen"] for r in runs),
        "wall_s": {p: mean(r["timing"].get(p, 0.0) for r in runs) for p in sorted(phases)},
    }


def collect(out: Path, names: list[str]) -> dict[str, Any]:
    """results.json: every finished run, the per-method means, the data and the budget."""
    runs = {name: run_result(out / name) for name in names}
    finished = {name: r for name, r in runs.items() if r is not None}
    methods = {}
    for method in METHODS:
        mine = [r for r in finished.values() if r["method"] == method]
        if mine:
            methods[method] = method_summary(mine)
    return {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "commands": _json(out / "commands.json") or [],
        "split": _json(out / "data/split.json"),
        "budget": _json(out / "budget.json"),
        "methods": methods,
        "runs": {
            name: {k: v for k, v in r.items() if k != "config"} for name, r in finished.items()
        },
        "paired": paired_with_mind(out, finished),
        "unfinished": [name for name, r in runs.items() if r is None],
        "settings": _settings(next(iter(finished.values()))["config"]) if finished else None,
    }


def _settings(config: dict[str, Any]) -> dict[str, Any]:
    t = config["train"]
    keys = ("finetune", "lora_r", "lora_alpha", "lr", "lr_schedule", "weight_decay")
    return {
        "student": config["student"],
        "perspectives": config["perspectives"],
        "prefer_teachers": config["data"]["prefer_teachers"],
        "sft_perspective": t["sft_perspective"],
        "optimizer": "AdamW, " + ", ".join(f"{k}={t[k]}" for k in keys),
        "questions_per_batch": t["questions_per_batch"],
        "grad_accum": t["grad_accum"],
        "max_seq_len": t["max_seq_len"],
        "dtype": t["dtype"],
        "downsample_easy": config["data"]["downsample_easy"],
        "min_perspectives": config["data"]["min_perspectives"],
        "max_new_tokens": config["eval"]["max_new_tokens"],
        "probe_questions": config["analysis"]["probe_questions"],
        "mind": config["mind"],
    }


# -- markdown ------------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _acc(b: dict[str, Any]) -> str:
    lo, hi = b["ci"]
    return f"{_pct(b['accuracy'])} [{_pct(lo)}, {_pct(hi)}]"


def _gain(x: float) -> str:
    return f"{100 * x:+.1f}"


def _accuracy_rows(results: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for method, summary in results["methods"].items():
        runs = [r for r in results["runs"].values() if r["method"] == method]
        if len(runs) > 1:
            spread = "; ".join(
                f"{_pct(b['seed_range'][0])}–{_pct(b['seed_range'][1])}"
                for b in summary["benchmarks"].values()
            )
            rows.append(
                [f"**{method}**", f"mean of {len(runs)} (seed range {spread})"]
                + [_acc(b) for b in summary["benchmarks"].values()]
                + [_pct(summary["id_mean"]), _pct(summary["ood_mean"])]
                + [_gain(summary["gain_id"]), _gain(summary["gain_ood"])]
            )
        for r in runs:
            rows.append(
                [
                    method if len(runs) == 1 else "",
                    "–" if not METHOD_TABLE[method].trains else r["seed"],
                ]
                + [_acc(b) for b in r["benchmarks"].values()]
                + [_pct(r["id_mean"]), _pct(r["ood_mean"])]
                + [_gain(r["gain_id"]), _gain(r["gain_ood"])]
            )
    return rows


def _budget_section(budget: dict[str, Any] | None) -> str:
    if not budget:
        return "_No budget computed yet._"
    parts = []
    for seed, plan in budget.items():
        rows = [
            [
                m,
                r["questions"],
                f"{r['tokens_per_epoch']:,}",
                f"{r['tokens_per_step']:,.0f}",
                r["max_steps"],
                f"{r['planned_tokens']:,.0f}",
                f"{r['epochs']:.2f}",
            ]
            for m, r in plan["methods"].items()
        ]
        headers = ["method", "questions", "tokens/epoch", "tokens/step", "max_steps"]
        headers += ["planned tokens", "epochs of its data"]
        parts.append(
            f"Seed {seed}: budget {plan['budget_tokens']:,.0f} trained tokens "
            f"({plan['epochs']:g} epochs of the multi-rationale data).\n\n" + _table(headers, rows)
        )
    return "\n\n".join(parts)


def _link(target: Path, doc: Path) -> str:
    return os.path.relpath(target, doc.parent)


def _latent_section(results: dict[str, Any]) -> str:
    rows, seen_base = [], set()
    for name, r in results["runs"].items():
        if r["seed"] not in seen_base:
            seen_base.add(r["seed"])
            b = r["base_latent"]
            rows.append([f"base student (probe seed {r['seed']})", b["n_points"]])
            rows[-1] += [b["n_clusters"], purity_text(b.get("purity"), 3), f"{b['nmi']:.3f}"]
        if METHOD_TABLE[r["method"]].trains:
            lat = r["latent"]
            rows.append(
                [name, lat["n_points"], lat["n_clusters"], purity_text(lat.get("purity"), 3)]
            )
            rows[-1] += [f"{lat['nmi']:.3f}"]
    return _table(["student", "points", "clusters", "purity", "NMI"], rows)


def _paired_section(results: dict[str, Any]) -> str:
    rows = [
        [r["mind"], r["other"], r["benchmark"], r["only_mind"], r["only_other"], f"{r['p']:.3f}"]
        for r in results["paired"]
    ]
    headers = ["mind run", "against", "benchmark", "only mind right", "only other right", "p"]
    return _table(headers, rows) if rows else "_No finished mind run._"


def _trajectory_section(results: dict[str, Any]) -> str:
    parts = []
    for name, r in results["runs"].items():
        if not METHOD_TABLE[r["method"]].uses_metanet or not r.get("trajectory"):
            continue
        names = [p for p in PERSPECTIVES if any(p in t["weights"] for t in r["trajectory"])]
        rows = [
            [f"{t['steps'][0]}–{t['steps'][1]}", t["phase"]]
            + [f"{t['weights'][p]:.3f}" if p in t["weights"] else "–" for p in names]
            for t in r["trajectory"]
        ]
        parts.append(
            f"**{name}** ({r['max_steps']} steps):\n\n" + _table(["steps", "phase", *names], rows)
        )
    return "\n\n".join(parts) or "_No finished mind run._"


def _wall_section(results: dict[str, Any]) -> str:
    rows = []
    for method, s in results["methods"].items():
        w = s["wall_s"]
        total = sum(w.values())
        rows.append(
            [method, len(s["seeds"]), f"{s['steps']:.0f}", f"{s['tokens_seen']:,.0f}"]
            + [f"{w.get(p, 0.0) / 60:.1f}" for p in ("train_s", "eval_s", "analysis_s")]
            + [f"{total / 60:.1f}"]
        )
    headers = ["method", "runs", "steps", "tokens seen", "train min", "eval min"]
    return _table([*headers, "latent+report min", "total min"], rows)


def _setup_section(results: dict[str, Any]) -> str:
    split, s = results["split"] or {}, results["settings"]
    if not s:
        return "_No finished run yet._"
    subset = (
        f"a fixed random subset of {split['train']} (seed {split['train_subset_seed']})"
        if split.get("train_subset_seed") is not None
        else f"all {split.get('train')}"
    )
    evals = ", ".join(f"{name} {n}" for name, n in split.get("eval", {}).items())
    return "\n".join(
        [
            f"- Student: `{s['student']}`.",
            f"- Training questions: {subset} of the {split.get('train_pool')} SVAMP questions "
            f'whose rationales carry `source_split == "{split.get("train_split")}"`; '
            "correct rationales only, one per perspective "
            f"(teachers preferred: {', '.join(s['prefer_teachers'])}); difficulty-aware "
            f"down-sampling {'on' if s['downsample_easy'] else 'off'}, at least "
            f"{s['min_perspectives']} perspectives per question (the same curated questions "
            "for every method).",
            f"- Perspectives: {', '.join(f'`{p}`' for p in s['perspectives'])}; sft trains on "
            f"`{s['sft_perspective']}` only.",
            f"- Evaluated (never trained on): {evals} questions; the SVAMP ones are the "
            f"{split.get('svamp_held_out')} held-out questions, the CommonsenseQA ones the "
            "first of dev in file order. Greedy decoding, "
            f"{s['max_new_tokens']} new tokens at most.",
            f"- Optimizer: {s['optimizer']}; {s['questions_per_batch']} questions per "
            f"micro-batch, grad_accum {s['grad_accum']}, max_seq_len {s['max_seq_len']}, "
            f"{s['dtype']}.",
            f"- MIND: {json.dumps(s['mind'])}.",
            f"- Latent analysis: {s['probe_questions']} probe questions of the training set, "
            "all their perspectives.",
        ]
    )


def _image(figures: dict[str, Path], key: str, doc: Path, alt: str) -> str:
    return f"\n\n![{alt}]({_link(figures[key], doc)})" if key in figures else ""


def render(results: dict[str, Any], args: argparse.Namespace, figures: dict[str, Path]) -> str:
    """docs/results.md from templates/results.md: numbers and figures, then the notes."""
    out, doc = args.out, args.doc
    bench_headers = [f"{name} ({kind.upper()})" for name, (_, kind) in BENCHMARKS.items()]
    commands = "\n".join(results["commands"]) or "(none recorded)"
    notes = args.notes.read_text().strip() if args.notes.exists() else NOTES_PLACEHOLDER
    unfinished = (
        f"\n\nNot finished yet: {', '.join(results['unfinished'])}."
        if results["unfinished"]
        else ""
    )
    return TEMPLATES.get_template("results.md").render(
        generated=results["generated"],
        out_link=_link(out, doc),
        unfinished=unfinished,
        setup=_setup_section(results),
        commands=commands,
        accuracy=(
            _table(
                ["method", "seed", *bench_headers, "ID mean", "OOD mean", "gain ID", "gain OOD"],
                _accuracy_rows(results),
            )
            if results["methods"]
            else NO_RUN
        ),
        accuracy_image=_image(figures, "accuracy", doc, "Accuracy per benchmark and method"),
        paired=_paired_section(results),
        budget=_budget_section(results["budget"]),
        latent=_latent_section(results) if results["runs"] else NO_RUN,
        latent_image=_image(
            figures, "latent", doc, "t-SNE maps of the students' rationale representations"
        ),
        weights_image=_image(
            figures, "weights", doc, "MetaNet weight per perspective over training"
        ),
        trajectory=_trajectory_section(results),
        wall=_wall_section(results) if results["methods"] else NO_RUN,
        notes=notes,
    )


def _metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_figures(results: dict[str, Any], out: Path, folder: Path) -> dict[str, Path]:
    """The report's PNG figures: accuracy, latent maps (base and trained), mind weights."""
    figures: dict[str, Path] = {}
    if results["methods"]:
        figures["accuracy"] = quality_figures.accuracy_bars(
            results["methods"], folder / "accuracy.png"
        )
    panels, seen_base = [], set()
    for name, r in results["runs"].items():
        if r["seed"] not in seen_base:
            seen_base.add(r["seed"])
            panels.append(
                (f"base student (seed {r['seed']})", _json(out / name / "base/latent.json"))
            )
        if METHOD_TABLE[r["method"]].trains:
            panels.append((name, _json(out / name / "latent.json")))
    if panels:
        figures["latent"] = quality_figures.latent_grid(panels, folder / "latent.png")
    mind_runs = [
        (n, _metrics(out / n))
        for n, r in results["runs"].items()
        if METHOD_TABLE[r["method"]].uses_metanet
    ]
    if mind_runs:
        figures["weights"] = quality_figures.weight_curves(mind_runs, folder / "mind_weights.png")
    return figures


def write_results(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    """Write OUT/results.json, the figures and the markdown report; return the results."""
    results = collect(args.out, names)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    figures = write_figures(results, args.out, args.doc.parent / "figures" / args.doc.stem)
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(render(results, args, figures))
    return results
