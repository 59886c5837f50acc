"""Evaluation (method spec section 7): greedy batched answers, extraction, accuracy per benchmark.

`mind.generation` is the engine: prompts in, completions out, no global state touched. This
module reads benchmarks, scores and writes `eval.json` plus one predictions file per
benchmark. An output cut off at `eval.max_new_tokens` scores as wrong (`mind.scoring`); each
prediction says whether it was (`truncated`), and each benchmark counts them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mind.answers import EXTRACTOR_VERSION, detect_answer_type
from mind.config import BenchmarkConfig, EvalConfig
from mind.data import Question, read_questions
from mind.errors import InputError
from mind.reporter import Reporter
from mind.scoring import score
from mind.student_prompt import prompt_text

BENCHMARK_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def check_benchmark_name(name: str) -> str:
    """Names become file names: refuse anything that could leave the predictions folder."""
    if not BENCHMARK_NAME.fullmatch(name):
        raise InputError(
            f"benchmark name {name!r} must match {BENCHMARK_NAME.pattern} "
            "(letters, digits, '_', '.', '-'; not starting with '.' or '-')"
        )
    return name


def load_benchmark(cfg: BenchmarkConfig) -> list[Question]:
    """The benchmark's questions, the first `max_questions` of them when set."""
    if cfg.path is None:
        raise InputError(f"benchmark {cfg.name!r}: resolve dataset {cfg.dataset!r} to a path first")
    questions = read_questions(cfg.path)[: cfg.max_questions]
    if not questions:
        raise InputError(f"benchmark {cfg.name!r}: {cfg.path} holds no questions")
    return questions


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _kind_means(benchmarks: dict[str, dict[str, Any]], field: str) -> dict[str, float | None]:
    return {
        f"{kind}_mean": _mean([b[field] for b in benchmarks.values() if b["kind"] == kind])
        for kind in ("id", "ood")
    }


def evaluate(
    model: Any,
    tokenizer: Any,
    eval_cfg: EvalConfig,
    instruction: str,
    out_dir: str | Path,
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """Evaluate every configured benchmark; write and return the `eval.json` content.

    Only the reporter's `progress` and `event` are used.
    """
    from mind.generation import generate  # torch: not paid by the web app, which validates

    names = [check_benchmark_name(b.name) for b in eval_cfg.benchmarks]
    if len(set(names)) != len(names):
        raise InputError(f"benchmark names must be unique, got {names}")
    loaded = [(b, load_benchmark(b)) for b in eval_cfg.benchmarks]
    total, done = sum(len(qs) for _, qs in loaded), 0
    predictions_dir = Path(out_dir) / "predictions"
    predictions_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}

    def finished(n: int) -> None:
        nonlocal done
        done += n
        if reporter is not None:
            reporter.progress("evaluating", done / total)

    for bench, questions in loaded:
        prompts = [prompt_text(tokenizer, q.question, instruction) for q in questions]
        outputs = generate(model, tokenizer, prompts, eval_cfg, finished)
        kind = detect_answer_type(questions)
        truncated = [c.truncated for c in outputs]
        n, accuracy, rows = score(questions, [c.text for c in outputs], kind, truncated)
        with (predictions_dir / f"{bench.name}.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        results[bench.name] = {
            "n": n,
            "accuracy": accuracy,
            "kind": bench.kind,
            "answer_type": kind,
            "extractor_version": EXTRACTOR_VERSION,
            "truncated": sum(truncated),
        }
        if reporter is not None:
            reporter.event(
                "eval",
                f"{bench.name}: accuracy {accuracy:.4f} on {n} "
                f"({sum(truncated)} cut off at max_new_tokens)",
                benchmark=bench.name,
                n=n,
                accuracy=accuracy,
                truncated=sum(truncated),
            )
    summary = {"benchmarks": results, **_kind_means(results, "accuracy")}
    (Path(out_dir) / "eval.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    return summary


def gain(eval_json: dict[str, Any], base_eval_json: dict[str, Any]) -> dict[str, Any]:
    """Accuracy gain over the base (zero-shot) student, per shared benchmark and ID/OOD mean."""
    base = base_eval_json["benchmarks"]
    benchmarks = {
        name: {"kind": b["kind"], "gain": b["accuracy"] - base[name]["accuracy"]}
        for name, b in eval_json["benchmarks"].items()
        if name in base
    }
    return {"benchmarks": benchmarks, **_kind_means(benchmarks, "gain")}
