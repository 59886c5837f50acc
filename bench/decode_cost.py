"""The cost of one decode step of the bundled student at several batch sizes, on plain
`generate`'s path and on the fast engine's, and how long its greedy SVAMP answers run.

`generate`'s path: transformers' growing KV cache (a copy of the whole cache every step)
and torch's default fp32 linear layers. The fast engine's: the reserved KV cache
(`mind.kv_cache`) and oneDNN-packed linear layers (`mind.packed_linear`). A batch decodes
until its longest row ends; dropping finished rows saves only the per-row part of a step.
Prints ms per step at each batch size (fixed part = batch 1) for both paths, the seconds
to prefill `--n` real prompts in one left-padded forward (as `generate` does), in the fast
engine's length-sorted sub-batches, and in those after the prefix all prompts share, and
the answer-length distribution of the `--n` questions (with the studio's answer-line stop).

    .venv/bin/python -m bench.decode_cost [--n 64] [--context 150] [--steps 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch
from transformers.cache_utils import DynamicCache

from mind import generation
from mind.config import DEFAULT_INSTRUCTION, TrainConfig
from mind.data import read_questions
from mind.generation import AnswerStop, eos_ids, greedy_batch
from mind.kv_cache import reserved_cache
from mind.packed_linear import pack_linears
from mind.student import load_for_inference, load_tokenizer
from mind.student_prompt import prompt_text

SHARED = Path(os.environ.get("MIND_SHARED", Path(__file__).resolve().parents[2] / "shared"))
BATCHES = (1, 8, 32, 64)
STUDENT = "smollm2-135m-instruct"


@torch.no_grad()
def step_ms(
    model: torch.nn.Module, cache: DynamicCache, batch: int, context: int, steps: int
) -> float:
    """Median ms of one greedy decode step at `batch` rows after a `context`-token prefill."""
    ids = torch.randint(100, 1000, (batch, context))
    out = model(input_ids=ids, past_key_values=cache, logits_to_keep=1)
    times = []
    for _ in range(steps):
        token = out.logits[:, -1].argmax(-1, keepdim=True)
        start = time.perf_counter()
        out = model(input_ids=token, past_key_values=cache)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@torch.no_grad()
def prefill_seconds(model: torch.nn.Module, rows: list[list[int]], pad_id: int) -> dict:
    """Seconds to prefill `rows` (sorted longest first) three ways, on the same model."""
    width = max(len(r) for r in rows)

    def once(shared: int | None) -> float:
        cache = reserved_cache(model.config, width)
        start = time.perf_counter()
        if shared is None:
            batch = generation._left_padded(rows, pad_id, model.device)
            positions = generation._positions(batch["attention_mask"])
            model(**batch, position_ids=positions, past_key_values=cache, logits_to_keep=1)
        else:
            generation._prefill(model, rows, cache, shared, pad_id)
        return time.perf_counter() - start

    return {
        "one left-padded forward": once(None),
        "sub-batches": once(0),
        "sub-batches after the shared prefix": once(generation._shared_prefix(rows)),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=64, help="Questions whose answer lengths are shown.")
    p.add_argument("--context", type=int, default=150)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--max-new-tokens", type=int, default=256)
    args = p.parse_args()

    torch.manual_seed(0)
    model = load_for_inference(STUDENT, None, TrainConfig(device="cpu"))
    packed = pack_linears(load_for_inference(STUDENT, None, TrainConfig(device="cpu")))
    capacity = args.context + args.steps + 1
    for batch in BATCHES:
        plain = step_ms(model, DynamicCache(config=model.config), batch, args.context, args.steps)
        cache = reserved_cache(packed.config, capacity)
        fast = step_ms(packed, cache, batch, args.context, args.steps)
        print(
            f"batch {batch:>3}: generate's path {plain:6.1f} ms/step, "
            f"fast engine's {fast:6.1f} ms/step ({plain / fast:.2f}x)",
            flush=True,
        )

    tokenizer = load_tokenizer(STUDENT)
    questions = read_questions(SHARED / "datasets/svamp/test.jsonl")[: args.n]
    rows = [
        tokenizer(
            prompt_text(tokenizer, q.question, DEFAULT_INSTRUCTION), add_special_tokens=False
        )["input_ids"]
        for q in questions
    ]
    rows.sort(key=len, reverse=True)
    for way, seconds in prefill_seconds(packed, rows, tokenizer.pad_token_id).items():
        print(f"prefill of {len(rows)} prompts, {way}: {seconds:.1f} s", flush=True)
    new = greedy_batch(
        packed,
        rows,
        args.max_new_tokens,
        tokenizer.pad_token_id,
        eos_ids(model, tokenizer),
        AnswerStop(tokenizer),
    )
    lengths = sorted(len(tokens) for tokens in new)
    at_limit = sum(n >= args.max_new_tokens for n in lengths)
    print(
        f"answer lengths over {len(lengths)} questions: min {lengths[0]}, "
        f"median {statistics.median(lengths):.0f}, mean {statistics.mean(lengths):.0f}, "
        f"max {lengths[-1]}; at the {args.max_new_tokens}-token limit: {at_limit}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
