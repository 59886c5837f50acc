"""`mind eval`: evaluate a student (optionally with a LoRA adapter) on benchmark files.

Either from a run config (`--config`: its student, train dtype/device, instruction and eval
section) or ad hoc (`--model` with `--benchmark`/`--ood` files).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from pydantic import ValidationError

from mind.config import DEFAULT_INSTRUCTION, ConfigError, EvalConfig, TrainConfig, load_config

SPLIT_STEMS = {"train", "test", "dev", "val", "validation", "eval"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a student on benchmarks", description=__doc__)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="run config (YAML/JSON)")
    source.add_argument("--model", help="student: bundled name, HF id or path")
    p.add_argument("--adapter", help="LoRA adapter directory to merge into the student")
    p.add_argument(
        "--benchmark",
        nargs="+",
        action="extend",
        default=[],
        metavar="FILE",
        help="in-distribution benchmark JSONL file(s)",
    )
    p.add_argument(
        "--ood",
        nargs="+",
        action="extend",
        default=[],
        metavar="FILE",
        help="out-of-distribution benchmark JSONL file(s)",
    )
    p.add_argument("--output", required=True, help="directory for eval.json and predictions/")
    p.add_argument("--max-questions", type=_positive, help="first N questions per benchmark")
    p.add_argument("--max-new-tokens", type=_positive, help="generation budget per answer")
    p.add_argument("--batch-size", type=_positive, help="questions generated together")
    p.add_argument("--instruction", help="instruction appended to each question (--model)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (--model)")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def benchmark_name(path: str) -> str:
    """`datasets/svamp/test.jsonl` -> `svamp_test`; `my-bench.jsonl` -> `my-bench`."""
    file = Path(path)
    name = f"{file.parent.name}_{file.stem}" if file.stem in SPLIT_STEMS else file.stem
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".-") or "benchmark"


def _settings(args: argparse.Namespace) -> tuple[str, TrainConfig, EvalConfig, str]:
    """(student, train config for loading, eval config, instruction); flags override."""
    if args.config:
        if args.benchmark or args.ood:
            raise ConfigError("benchmark", "with --config, list benchmarks in its eval section")
        config = load_config(args.config)
        student, train, instruction = config.student, config.train, config.train.instruction
        raw = config.eval.model_dump()
    else:
        files = [(f, "id") for f in args.benchmark] + [(f, "ood") for f in args.ood]
        student, instruction = args.model, DEFAULT_INSTRUCTION
        train = TrainConfig(device=args.device, dtype=args.dtype)
        raw = {"benchmarks": [{"name": benchmark_name(f), "path": f, "kind": k} for f, k in files]}
    if args.max_questions is not None:
        for bench in raw["benchmarks"]:
            bench["max_questions"] = args.max_questions
    for key in ("max_new_tokens", "batch_size"):
        if getattr(args, key) is not None:
            raw[key] = getattr(args, key)
    if not raw["benchmarks"]:
        raise ConfigError("eval.benchmarks", "no benchmarks: give --benchmark/--ood files")
    try:
        eval_cfg = EvalConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(part) for part in ("eval", *err["loc"]))
        raise ConfigError(key, err["msg"]) from None
    return student, train, eval_cfg, args.instruction or instruction


def run(args: argparse.Namespace) -> int:
    student, train, eval_cfg, instruction = _settings(args)
    from mind.evaluate import evaluate, load_benchmark
    from mind.generation import load_model
    from mind.student import load_tokenizer

    for bench in eval_cfg.benchmarks:
        load_benchmark(bench)  # fail on bad data before the model loads
    model = load_model(student, args.adapter, train, eval_cfg)
    tokenizer = load_tokenizer(student)
    result = evaluate(model, tokenizer, eval_cfg, instruction, args.output)
    print(json.dumps(result))
    return 0
