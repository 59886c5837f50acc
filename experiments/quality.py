"""The quality experiment of issue 6: MIND against its baselines on a real student.

Every method trains on the SVAMP questions of MCC-KD's published train split (correct
teacher rationales only) and is evaluated on the held-out SVAMP questions (in-distribution)
and on StrategyQA dev and a fixed CommonsenseQA dev slice (out-of-distribution). All
methods get the same trained-token budget, optimizer and seeds; sft, which sees one
rationale per question instead of four, gets more steps to spend the same budget.

Runs are resumable: Ctrl-C (or a STOP file in a run directory) checkpoints and exits, and
running the same command again skips finished runs and continues the interrupted one.

    python -m experiments.quality                    # the full experiment (many CPU hours)
    python -m experiments.quality --train-questions 100 --seeds 0 --eval-svamp 50
    python -m experiments.quality --report-only      # rebuild docs/results.md from runs/

Give --report-only the same --methods and --seeds as the run. Exit status 3 means a run
was stopped before the end (rerun to resume).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from experiments.quality_design import (
    BENCHMARKS,
    METHODS,
    PERSPECTIVES,
    PREFER_TEACHERS,
    RATIONALES,
    SFT_PERSPECTIVE,
    SUBSET_SEED,
    TRAIN_SPLIT,
)
from experiments.quality_report import write_results
from mind.config import RunConfig, parse_config
from mind.methods import METHODS as METHOD_TABLE
from mind.readers import iter_records
from mind.reporter import FileReporter

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MIND_SHARED", ROOT.parent / "shared"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m experiments.quality",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=ROOT / "runs/quality", help="runs and data")
    p.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    p.add_argument("--student", default="smollm2-135m-instruct", help="bundled name or path")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1], help="training seeds")
    p.add_argument("--train-questions", type=int, help="subset of the 700 (default all)")
    p.add_argument("--eval-svamp", type=int, default=300, help="held-out SVAMP questions")
    p.add_argument("--eval-strategyqa", type=int, default=229, help="StrategyQA dev questions")
    p.add_argument("--eval-csqa", type=int, default=300, help="CommonsenseQA dev slice")
    p.add_argument("--epochs", type=float, default=2.0, help="of the multi-rationale data")
    p.add_argument("--max-new-tokens", type=int, default=256, help="evaluation answers")
    p.add_argument("--eval-batch-size", type=int, default=48, help="questions per generation")
    p.add_argument("--questions-per-batch", type=int, default=2, help="per optimizer step")
    p.add_argument("--doc", type=Path, default=ROOT / "docs/results.md", help="report")
    p.add_argument("--notes", type=Path, default=ROOT / "docs/results_notes.md")
    p.add_argument("--report-only", action="store_true", help="only rebuild the report")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    for name in (
        "train_questions",
        "eval_svamp",
        "eval_strategyqa",
        "eval_csqa",
        "eval_batch_size",
    ):
        value = getattr(args, name)
        if value is not None and value <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if args.epochs <= 0:
        p.error("--epochs must be positive")
    args.out = args.out.resolve()
    return args


# -- data -----------------------------------------------------------------------------------


def _records(path: Path) -> list[dict[str, Any]]:
    return [obj for _, obj in iter_records(path)]


def _write(records: list[dict[str, Any]], path: Path) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def prepare_data(args: argparse.Namespace) -> dict[str, Any]:
    """Write the training questions and the evaluated questions under OUT/data.

    Training: the SVAMP questions with an MCC-KD train-split rationale (a fixed random
    subset with --train-questions). Evaluation: the other SVAMP questions, StrategyQA dev
    and CommonsenseQA dev, each the first N in file order. Nothing evaluated is trained on.
    """
    data = args.out / "data"
    data.mkdir(parents=True, exist_ok=True)
    in_split = {
        r["id"] for r in _records(args.shared / RATIONALES) if r.get("source_split") == TRAIN_SPLIT
    }
    svamp = _records(args.shared / BENCHMARKS["svamp"][0])
    pool = [q for q in svamp if q["id"] in in_split]
    held_out = [q for q in svamp if q["id"] not in in_split]
    train = pool
    if args.train_questions is not None and args.train_questions < len(pool):
        picked = set(random.Random(SUBSET_SEED).sample(range(len(pool)), args.train_questions))
        train = [q for i, q in enumerate(pool) if i in picked]
    sizes = {"svamp": args.eval_svamp, "strategyqa": args.eval_strategyqa}
    sizes["commonsenseqa"] = args.eval_csqa
    evaluated = {
        name: (held_out if name == "svamp" else _records(args.shared / src))[: sizes[name]]
        for name, (src, _) in BENCHMARKS.items()
    }
    train_ids = {q["id"] for q in train}
    for name, questions in evaluated.items():
        overlap = train_ids & {q["id"] for q in questions}
        if overlap:
            raise SystemExit(f"{name}: evaluated questions are trained on: {sorted(overlap)[:5]}")
    split = {
        "train_split": TRAIN_SPLIT,
        "train_pool": len(pool),
        "train": len(train),
        "train_subset_seed": SUBSET_SEED if len(train) < len(pool) else None,
        "svamp_held_out": len(held_out),
        "eval": {name: len(qs) for name, qs in evaluated.items()},
    }
    previous = data / "split.json"
    if previous.exists() and json.loads(previous.read_text()) != split:
        # finished runs would be skipped although they used other questions
        raise SystemExit(f"{args.out} holds an experiment on other questions; use another --out")
    _write(train, data / "train.jsonl")
    for name, questions in evaluated.items():
        _write(questions, data / f"{name}.jsonl")
    previous.write_text(json.dumps(split, indent=2) + "\n")
    return split


# -- configs and the token budget ----------------------------------------------------------


def run_config(args: argparse.Namespace, method: str, seed: int, max_steps: int) -> RunConfig:
    """One run; everything but the method, the seed and the step count is shared."""
    data = args.out / "data"
    return parse_config(
        {
            "student": args.student,
            "method": method,
            "perspectives": PERSPECTIVES,
            "data": {
                "questions": str(data / "train.jsonl"),
                "rationales": str(args.shared / RATIONALES),
                "source_split": TRAIN_SPLIT,
                "only_correct": True,
                "prefer_teachers": PREFER_TEACHERS,
            },
            "train": {
                "max_steps": max_steps,
                "questions_per_batch": args.questions_per_batch,
                "sft_perspective": SFT_PERSPECTIVE,
            },
            "eval": {
                "benchmarks": [
                    {"name": name, "path": str(data / f"{name}.jsonl"), "kind": kind}
                    for name, (_, kind) in BENCHMARKS.items()
                ],
                "max_new_tokens": args.max_new_tokens,
                "batch_size": args.eval_batch_size,
            },
            "seed": seed,
        }
    )


def epoch_tokens(config: RunConfig, tokenizer: Any) -> tuple[int, int]:
    """(questions, trained tokens) of one epoch of the method's curated data.

    Trained tokens are the ones with a label (the assistant part), as the trainer
    tokenises them.
    """
    from mind.batching import ExampleTokenizer
    from mind.losses import IGNORE_INDEX
    from mind.methods import slot_names, spec_for
    from mind.training_data import load_training_data

    data = load_training_data(config)
    encoder = ExampleTokenizer(tokenizer, config.train.instruction, config.train.max_seq_len)
    slots = slot_names(config, data.perspectives)
    tokens = sum(
        sum(label != IGNORE_INDEX for label in encoded.labels)
        for i, example in enumerate(data.examples)
        for encoded in encoder.encode_example(
            i, example, slots, spec_for(config).slots == "sbs_tasks"
        ).slots.values()
    )
    return len(data.examples), tokens


def plan_budget(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """Steps per method so that steps x tokens per step ~= the shared token budget.

    The budget is --epochs passes over the multi-rationale data (uniform, mcc and mind
    train on the same curated examples); a step costs questions_per_batch x grad_accum
    questions' worth of the method's average tokens. Per seed, because the seed decides
    which easy questions curation drops.
    """
    from mind.student import load_tokenizer

    tokenizer = load_tokenizer(args.student)
    trained = [
        m for m in METHODS if m == "uniform" or (m in args.methods and METHOD_TABLE[m].trains)
    ]
    rows: dict[str, dict[str, Any]] = {}
    for method in trained:
        config = run_config(args, method, seed, 1)
        questions, tokens = epoch_tokens(config, tokenizer)
        per_step = config.train.questions_per_batch * config.train.grad_accum
        rows[method] = {
            "questions": questions,
            "tokens_per_epoch": tokens,
            "tokens_per_step": tokens / questions * per_step,
        }
    budget = args.epochs * rows["uniform"]["tokens_per_epoch"]
    for row in rows.values():
        row["max_steps"] = max(1, round(budget / row["tokens_per_step"]))
        row["planned_tokens"] = row["max_steps"] * row["tokens_per_step"]
        row["epochs"] = row["planned_tokens"] / row["tokens_per_epoch"]
    return {"epochs": args.epochs, "budget_tokens": budget, "methods": rows}


def plan_runs(args: argparse.Namespace, budgets: dict[str, Any]) -> dict[str, RunConfig]:
    """Run name -> config, in running order; zero_shot has no training randomness: once."""
    plan = {}
    if "zero_shot" in args.methods:
        plan["zero_shot"] = run_config(args, "zero_shot", args.seeds[0], 1)
    for seed in args.seeds:
        for method in args.methods:
            if METHOD_TABLE[method].trains:
                steps = budgets[str(seed)]["methods"][method]["max_steps"]
                plan[f"{method}-s{seed}"] = run_config(args, method, seed, steps)
    return plan


def run_names(args: argparse.Namespace) -> list[str]:
    """The planned run names without building configs (for --report-only)."""
    names = ["zero_shot"] if "zero_shot" in args.methods else []
    return names + [f"{m}-s{s}" for s in args.seeds for m in args.methods if METHOD_TABLE[m].trains]


# -- running --------------------------------------------------------------------------------


PHASES = {"generating": "train_s", "training": "train_s", "evaluating": "eval_s"}


class ClockedReporter(FileReporter):
    """A FileReporter that also times the pipeline's phases for the wall-time table.

    A phase starts at its stage's first progress report: training (data and model loading
    included) runs until evaluation reports, evaluation until the latent analysis starts,
    and the analysis (with report.html) to the end.
    """

    def __init__(self, out_dir: Path, show_progress: bool):
        super().__init__(out_dir, show_progress)
        self.marks = [("train_s", time.perf_counter())]

    def progress(self, stage: str, fraction: float) -> None:
        phase = PHASES.get(stage, "analysis_s")
        if phase != self.marks[-1][0]:
            self.marks.append((phase, time.perf_counter()))
        super().progress(stage, fraction)

    def seconds(self) -> dict[str, float]:
        ends = [t for _, t in self.marks[1:]] + [time.perf_counter()]
        spent: dict[str, float] = {}
        for (phase, start), end in zip(self.marks, ends, strict=True):
            spent[phase] = spent.get(phase, 0.0) + end - start
        return spent


def finished(config: RunConfig, out_dir: Path) -> bool:
    """True when the run completed every stage with this very config."""
    from mind.pipeline import STAGES, STATE_FILE

    config_file = out_dir / "config.json"
    if config_file.exists() and json.loads(config_file.read_text()) != config.frozen():
        raise SystemExit(
            f"{out_dir} holds a run with other settings; use another --out for these ones"
        )
    state = out_dir / STATE_FILE
    return state.exists() and set(STAGES) <= set(json.loads(state.read_text()))


def _add_timing(out_dir: Path, seconds: dict[str, float]) -> None:
    """Sum the phases over invocations, so a resumed run reports its whole wall time."""
    path = out_dir / "timing.json"
    total = json.loads(path.read_text()) if path.exists() else {}
    for phase, secs in seconds.items():
        total[phase] = total.get(phase, 0.0) + secs
    path.write_text(json.dumps(total, indent=2) + "\n")


def run_all(plan: dict[str, RunConfig], args: argparse.Namespace) -> bool:
    """Run every planned run not finished yet; False when one was stopped."""
    from mind.pipeline import run_pipeline

    for name, config in plan.items():
        out_dir = args.out / name
        if finished(config, out_dir):
            print(f"{name}: done, skipped", flush=True)
            continue
        print(f"{name}: running ({config.train.max_steps} steps)", flush=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        reporter = ClockedReporter(out_dir, show_progress=not args.no_progress)
        try:
            summary = run_pipeline(config, out_dir, reporter)
        finally:
            reporter.close()
            _add_timing(out_dir, reporter.seconds())
        if summary["status"] != "completed":
            print(f"{name}: stopped in {summary.get('stage')}; run again to resume", flush=True)
            return False
    return True


def _record_command(args: argparse.Namespace, argv: list[str]) -> None:
    path = args.out / "commands.json"
    commands = json.loads(path.read_text()) if path.exists() else []
    command = shlex.join(["python", "-m", "experiments.quality", *argv])
    if command not in commands:
        path.write_text(json.dumps([*commands, command], indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    completed = True
    if not args.report_only:
        split = prepare_data(args)
        print(f"data: {json.dumps(split)}", flush=True)
        budgets = {str(seed): plan_budget(args, seed) for seed in args.seeds}
        (args.out / "budget.json").write_text(json.dumps(budgets, indent=2) + "\n")
        _record_command(args, argv)
        completed = run_all(plan_runs(args, budgets), args)
    write_results(args, run_names(args))
    print(f"wrote {args.doc} and {args.out / 'results.json'}", flush=True)
    return 0 if completed else 3


if __name__ == "__main__":
    raise SystemExit(main())
