"""Evaluation throughput: the fast generation engine against plain HF `generate`, same run.

The real bundled student (SmolLM2-135M-Instruct) answers real benchmark questions with the
studio's prompt, greedily, at one batch size. The baseline is what evaluation did before
`mind.generation`: `model.generate` over the batches in input order, no early stop. The arms
alternate (the order flips every repeat) so load from other jobs on a shared machine hits
both alike; medians are reported. Answers are extracted from both arms and compared.

    .venv/bin/python -m bench.eval_throughput                  # 64 SVAMP questions, batch 64
    .venv/bin/python -m bench.eval_throughput --compile        # adds the compiled arm
    .venv/bin/python -m bench.eval_throughput --unpacked       # adds fast without oneDNN

Each arm loads the model as evaluation does (`mind.generation.load_model`), so the fast arm
runs with `eval.packed_linear` on a CPU.

Last line: ratio=<plain median seconds / fast median seconds>.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from mind.answers import detect_answer_type, extract_answer
from mind.config import DEFAULT_INSTRUCTION, EvalConfig, TrainConfig
from mind.data import read_questions
from mind.generation import generate, load_model
from mind.student import load_tokenizer
from mind.student_prompt import prompt_text

SHARED = Path(os.environ.get("MIND_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def arms(args: argparse.Namespace) -> dict[str, EvalConfig]:
    common = {"max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size}
    out = {
        "plain": EvalConfig(engine="plain", stop_at_answer=False, **common),
        "fast": EvalConfig(engine="fast", **common),
    }
    if args.unpacked:
        out["fast-unpacked"] = EvalConfig(engine="fast", packed_linear=False, **common)
    if args.compile:
        out["fast+compile"] = EvalConfig(engine="fast", compile=True, **common)
    return out


def timed(
    model: Any, tokenizer: Any, prompts: list[str], cfg: EvalConfig
) -> tuple[float, list[str]]:
    start = time.perf_counter()
    outputs = generate(model, tokenizer, prompts, cfg)
    return time.perf_counter() - start, [c.text for c in outputs]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--student", default="smollm2-135m-instruct")
    p.add_argument("--questions", type=Path, default=SHARED / "datasets/svamp/test.jsonl")
    p.add_argument("--n", type=int, default=64, help="Questions answered per arm and repeat.")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--repeats", type=int, default=2, help="Timed runs per arm (interleaved).")
    p.add_argument(
        "--compile", action="store_true", help="Also time eval.compile (untimed warm-up)."
    )
    p.add_argument("--unpacked", action="store_true", help="Also time eval.packed_linear off.")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()

    torch.manual_seed(0)
    tokenizer = load_tokenizer(args.student)
    questions = read_questions(args.questions)[: args.n]
    prompts = [prompt_text(tokenizer, q.question, DEFAULT_INSTRUCTION) for q in questions]
    configs = arms(args)
    train = TrainConfig(device=args.device)
    models = {name: load_model(args.student, None, train, cfg) for name, cfg in configs.items()}
    if args.compile:
        timed(
            models["fast+compile"], tokenizer, prompts[: args.batch_size], configs["fast+compile"]
        )
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    outputs: dict[str, list[str]] = {}
    for r in range(args.repeats):
        for name in list(configs)[:: 1 if r % 2 == 0 else -1]:
            secs, outputs[name] = timed(models[name], tokenizer, prompts, configs[name])
            seconds[name].append(secs)
            print(f"repeat {r} {name}: {secs:.1f} s", flush=True)

    kind = detect_answer_type(questions)
    answers = {
        name: [extract_answer(o, kind, q.choices) for o, q in zip(texts, questions, strict=True)]
        for name, texts in outputs.items()
    }
    median = {name: statistics.median(s) for name, s in seconds.items()}
    tokens = {name: sum(len(tokenizer(o)["input_ids"]) for o in outputs[name]) for name in outputs}
    print(
        f"student={args.student} n={len(prompts)} batch={args.batch_size} "
        f"max_new_tokens={args.max_new_tokens} repeats={args.repeats} "
        f"threads={torch.get_num_threads()}"
    )
    for name in configs:
        same = sum(a == b for a, b in zip(answers[name], answers["plain"], strict=True))
        print(
            f"{name:>13}: median {median[name]:.1f} s, "
            f"{len(prompts) / median[name]:.2f} questions/s, "
            f"{tokens[name]} output tokens, answers equal to plain: {same}/{len(prompts)}"
        )
    for name in list(configs)[2:]:
        print(f"ratio_{name.replace('+', '_')}={median['plain'] / median[name]:.2f}")
    print(f"ratio={median['plain'] / median['fast']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
