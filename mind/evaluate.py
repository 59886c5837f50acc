"""Evaluation (method spec section 7): greedy batched answers, extraction, accuracy per benchmark.

`generate_answers` is the engine: token ids in, text out, no global state touched. The rest
reads benchmarks, scores and writes `eval.json` plus one predictions file per benchmark.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch

from mind.answers import AnswerType, answers_match, detect_answer_type, extract_answer
from mind.config import BenchmarkConfig, EvalConfig
from mind.data import Question, read_questions
from mind.errors import InputError
from mind.reporter import Reporter
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


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    """Stop at the tokenizer's EOS (the chat turn end) and at any the model config names."""
    configured = model.generation_config.eos_token_id
    ids = configured if isinstance(configured, list) else [configured]
    return sorted({i for i in [tokenizer.eos_token_id, *ids] if i is not None})


@torch.no_grad()
def generate_answers(
    model: Any,
    tokenizer: Any,
    questions: list[Question],
    instruction: str,
    max_new_tokens: int,
    batch_size: int,
) -> list[str]:
    """Greedy completions, one per question, in order.

    Prompts are left-padded so every row's last prompt token sits at the same position and
    generation (with the KV cache) continues all rows together.
    """
    prompts = [prompt_text(tokenizer, q.question, instruction) for q in questions]
    eos = _eos_ids(model, tokenizer)
    outputs: list[str] = []
    for start in range(0, len(prompts), batch_size):
        batch = tokenizer(
            prompts[start : start + batch_size],
            return_tensors="pt",
            padding=True,
            padding_side="left",
            add_special_tokens=False,
        ).to(model.device)
        generated = model.generate(
            **batch,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=eos,
            pad_token_id=tokenizer.pad_token_id,
        )  # (B, T_prompt + T_new)
        new_tokens = generated[:, batch["input_ids"].shape[1] :]
        outputs += tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    return [text.strip() for text in outputs]


def score(
    questions: list[Question], outputs: list[str], answer_type: AnswerType | None = None
) -> tuple[int, float, list[dict[str, Any]]]:
    """(n, accuracy, per-example rows); the answer type is detected when not given."""
    if len(questions) != len(outputs):
        raise ValueError(f"{len(questions)} questions but {len(outputs)} outputs")
    kind = answer_type or detect_answer_type(questions)
    rows = []
    for q, output in zip(questions, outputs, strict=True):
        prediction = extract_answer(output, kind, q.choices)
        rows.append(
            {
                "id": q.id,
                "question": q.question,
                "gold": q.answer,
                "output": output,
                "prediction": prediction,
                "correct": answers_match(prediction, q.answer, kind),
            }
        )
    n = len(rows)
    return n, (sum(r["correct"] for r in rows) / n if n else 0.0), rows


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
    names = [check_benchmark_name(b.name) for b in eval_cfg.benchmarks]
    if len(set(names)) != len(names):
        raise InputError(f"benchmark names must be unique, got {names}")
    loaded = [(b, load_benchmark(b)) for b in eval_cfg.benchmarks]
    total, done = sum(len(qs) for _, qs in loaded), 0
    predictions_dir = Path(out_dir) / "predictions"
    predictions_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    for bench, questions in loaded:
        outputs: list[str] = []
        for start in range(0, len(questions), eval_cfg.batch_size):
            chunk = questions[start : start + eval_cfg.batch_size]
            outputs += generate_answers(
                model, tokenizer, chunk, instruction, eval_cfg.max_new_tokens, len(chunk)
            )
            done += len(chunk)
            if reporter is not None:
                reporter.progress("evaluating", done / total)
        kind = detect_answer_type(questions)
        n, accuracy, rows = score(questions, outputs, kind)
        with (predictions_dir / f"{bench.name}.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        results[bench.name] = {
            "n": n,
            "accuracy": accuracy,
            "kind": bench.kind,
            "answer_type": kind,
        }
        if reporter is not None:
            reporter.event(
                "eval",
                f"{bench.name}: accuracy {accuracy:.4f} on {n}",
                benchmark=bench.name,
                n=n,
                accuracy=accuracy,
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
