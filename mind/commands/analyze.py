"""`mind analyze`: latent-space analysis of one student (method spec section 8).

Run it on the base student, a checkpoint's adapter or a specialist's adapter with the same
rationales, probe size and seed, and the latent maps of those students can be compared.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mind.config import DEFAULT_INSTRUCTION, AnalysisConfig, ConfigError, DataConfig, TrainConfig
from mind.errors import InputError
from mind.perspectives import builtin_order, resolve
from mind.plots import purity_text


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _id_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="latent-space analysis of a student", description=__doc__)
    p.add_argument("--model", required=True, help="student: bundled name, HF id or path")
    p.add_argument("--adapter", help="LoRA adapter dir (checkpoint or specialist) to merge")
    p.add_argument("--rationales", required=True, type=Path, help="rationales JSONL")
    p.add_argument("--questions", type=Path, help="questions JSONL (default: from rationales)")
    p.add_argument("--output", required=True, type=Path, help="directory for latent.json/html")
    p.add_argument(
        "--probe-questions",
        type=_positive_int,
        default=AnalysisConfig().probe_questions,
        help="size of the probe set (the first usable questions)",
    )
    p.add_argument("--perspectives", type=_id_list, help="comma-separated ids (default: all)")
    p.add_argument("--instruction", default=DEFAULT_INSTRUCTION, help="the training instruction")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mind.latent import analyze  # torch and transformers load only when analyzing
    from mind.student import load_for_inference, load_tokenizer
    from mind.training_data import probe_set, read_records

    records = read_records(args.rationales, args.questions)
    in_data = {r.perspective for r in records.rationales}
    perspectives = args.perspectives or sorted(in_data, key=builtin_order)
    try:
        resolve(perspectives, seen_in_data=in_data)
    except ValueError as exc:
        raise ConfigError("--perspectives", str(exc)) from None
    examples = probe_set(records, perspectives, DataConfig(), args.probe_questions, args.seed)
    if not examples:
        raise InputError(
            f"no question in {args.rationales} has an accepted rationale for {perspectives}"
        )

    model = load_for_inference(args.model, args.adapter, TrainConfig(device=args.device))
    tokenizer = load_tokenizer(args.model)
    cfg = AnalysisConfig(probe_questions=args.probe_questions)
    result = analyze(model, tokenizer, examples, cfg, args.instruction, args.output, args.seed)
    print(
        f"{result.n_points} points, {result.n_clusters} active clusters, "
        f"purity {purity_text(result.purity, 3)}, NMI {result.nmi:.3f} -> "
        f"{args.output}/latent.json, latent.html"
    )
    if result.warning:
        print(f"warning: {result.warning}", file=sys.stderr)
    return 0
