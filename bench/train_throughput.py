"""Trained tokens per second: the MIND trainer against a plain Hugging Face + peft SFT loop.

Both train a randomly initialised model of the same shape on the same synthetic token stream,
in one run. The plain loop is the usual `model(input_ids, attention_mask, labels).loss
.backward()` on right-padded batches. The MIND side is `mind.trainer.Trainer.step_on`: K
perspectives per question, MetaNet, selection and the consistency loss, on packed batches
(`--mind-padded` also times it on padded ones). Throughput counts real (non-pad) tokens only.

    python -m bench.train_throughput                       # from the repo root; CPU-sized
    python -m bench.train_throughput --device cuda --shape qwen2.5-1.5b --lengths varied \\
        --batch-seqs 32 --seq-len 512 --dtype bfloat16 --json out.json
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM

from bench._shapes import SHAPES
from mind.assistant import TargetTracker, TeachingAssistant
from mind.batching import Encoded, Group, collate
from mind.config import RunConfig, parse_config
from mind.distributed import Ranks
from mind.losses import IGNORE_INDEX
from mind.methods import spec_for
from mind.student import DTYPES, prepare_for_training
from mind.trainer import Position, Trainer, lr_factor

EMBED_DIM = 384  # all-MiniLM-L6-v2, MetaNet's default sentence encoder
ANSWER_TOKENS = 3


# -- synthetic token stream ---------------------------------------------------------------


def token_stream(args: argparse.Namespace, vocab: int, n_batches: int) -> list[list[Group]]:
    """`n_batches` micro-batches of questions, each with K rationale sequences.

    The K sequences of a question share its prompt (an eighth of `seq_len`); the rationale
    fills the rest up to the sequence's length: `seq_len`, or uniform in [40%, 100%] of it.
    The last tokens before the closing one are the answer, as
    `mind.batching.ExampleTokenizer` lays them out.
    """
    rng = np.random.default_rng(args.seed)
    k = args.perspectives
    prompt_len = args.seq_len // 8
    low = args.seq_len if args.lengths == "full" else int(0.4 * args.seq_len)
    batches = []
    for b in range(n_batches):
        groups = []
        for q in range(args.batch_seqs // k):
            prompt = rng.integers(3, vocab, prompt_len).tolist()
            slots = {}
            for s in range(k):
                n = int(rng.integers(low, args.seq_len + 1))
                ids = prompt + rng.integers(3, vocab, n - prompt_len).tolist()
                labels = [IGNORE_INDEX] * (prompt_len - 1) + ids[prompt_len:] + [IGNORE_INDEX]
                answer = list(range(n - 2 - ANSWER_TOKENS, n - 2))
                slots[s] = Encoded(ids, labels, answer)
            groups.append(Group(b * args.batch_seqs + q, slots))
        batches.append(groups)
    return batches


def hf_batch(groups: list[Group], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """The same sequences as a Hugging Face SFT collator gives them: right-padded, labels
    unshifted (the model shifts), loss on the rationale only, as on the MIND side."""
    seqs = [e for g in groups for _, e in sorted(g.slots.items())]
    longest = max(len(e.input_ids) for e in seqs)
    ids = torch.full((len(seqs), longest), pad_id, dtype=torch.long)
    attn = torch.zeros_like(ids)
    labels = torch.full_like(ids, IGNORE_INDEX)
    for i, e in enumerate(seqs):
        n = len(e.input_ids)
        ids[i, :n] = torch.tensor(e.input_ids)
        attn[i, :n] = 1
        labels[i, 1:n] = torch.tensor(e.labels[:-1])
    batch = {"input_ids": ids, "attention_mask": attn, "labels": labels}
    return {k: v.to(device) for k, v in batch.items()}


def real_tokens(groups: list[Group]) -> int:
    return sum(len(e.input_ids) for g in groups for e in g.slots.values())


# -- models ---------------------------------------------------------------------------------


def build_model(args: argparse.Namespace, config: RunConfig, device: torch.device) -> Any:
    """A random model of the shape, prepared for training as the trainer's student is."""
    torch.manual_seed(args.seed)
    shape = SHAPES[args.shape]()
    with device:
        model = AutoModelForCausalLM.from_config(
            shape, dtype=DTYPES[args.dtype], attn_implementation="sdpa"
        )
    return prepare_for_training(model, config.train).train()


def run_config(args: argparse.Namespace, packing: bool) -> RunConfig:
    return parse_config(
        {
            "student": args.shape,
            "method": "mind",
            "data": {"rationales": "synthetic"},
            "train": {
                "max_steps": 10_000,
                "questions_per_batch": args.batch_seqs // args.perspectives,
                "max_seq_len": args.seq_len,
                "packing": packing,
                "finetune": args.finetune,
                "dtype": args.dtype,
                "device": args.device,
                "lr": 1e-4,
            },
            "mind": {"warmup_fraction": 0.0},
        }
    )


class BenchTrainer(Trainer):
    """`Trainer` on an in-memory model and given MetaNet embeddings: no hub, no tokenizer.

    Sets up what `Trainer.setup` does after loading; every step runs the real
    `step_on` -> `_micro_step` path (forward, MetaNet, selection, consistency, updates).
    """

    def __init__(self, config: RunConfig, model: Any, embeddings: torch.Tensor):
        self.config, self.spec = config, spec_for(config)
        self.slots = [f"p{k}" for k in range(embeddings.shape[1])]
        self.device = torch.device(config.train.device)
        self.ranks = Ranks()
        self.warmup, self.joint_steps, self.pos = 0, config.train.max_steps, Position()
        self.model = model
        self.no_consistency_slots = torch.zeros(embeddings.shape[:2], dtype=torch.bool)
        t = config.train
        params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda j: lr_factor(t.lr_schedule, j, t.max_steps)
        )
        self.assistant = TeachingAssistant(config, self.slots, True, t.max_steps)
        self.assistant.tracker = TargetTracker(*embeddings.shape[:2], config.mind)
        self.assistant.embeddings = embeddings
        self.assistant.build(embeddings.shape[-1], self.device)


# -- timing ---------------------------------------------------------------------------------

Step = Callable[[list[Group]], int]  # trains on one micro-batch, returns tokens processed


@dataclass
class Measurement:
    name: str
    real_tokens_per_s: float | None
    slot_tokens_per_s: float | None  # tokens the model actually processed, padding included
    step_s: float | None
    steps: int
    peak_memory_gb: float | None  # in this side's steps (all models resident if interleaved)
    error: str | None = None


@dataclass
class Timer:
    """Sums one side's timed steps."""

    name: str
    secs: float = 0.0
    real: int = 0
    processed: int = 0
    steps: int = 0
    peak: float = 0.0
    error: str | None = None

    def run(self, step: Step, groups: list[Group], device: torch.device, timed: bool) -> None:
        cuda = device.type == "cuda"
        if cuda:
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        processed = step(groups)
        if cuda:
            torch.cuda.synchronize(device)
        if timed:
            self.secs += time.perf_counter() - start
            self.real += real_tokens(groups)
            self.processed += processed
            self.steps += 1
            if cuda:
                self.peak = max(self.peak, torch.cuda.max_memory_allocated(device) / 2**30)

    def result(self, device: torch.device) -> Measurement:
        if self.error is not None:
            return Measurement(self.name, None, None, None, self.steps, None, self.error)
        return Measurement(
            self.name,
            self.real / self.secs,
            self.processed / self.secs,
            self.secs / self.steps,
            self.steps,
            self.peak if device.type == "cuda" else None,
        )


def plain_step(args: argparse.Namespace) -> Step:
    """The reference: HF forward with labels (full-vocabulary logits), backward, AdamW."""
    device, config = torch.device(args.device), run_config(args, packing=False)
    model = build_model(args, config, device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.train.lr)
    pad_id = model.config.pad_token_id

    def step(groups: list[Group]) -> int:
        batch = hf_batch(groups, pad_id, device)
        model(**batch).loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.train.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return batch["input_ids"].numel()

    return step


def mind_step(args: argparse.Namespace, packing: bool, n_questions: int) -> Step:
    """The MIND trainer's real step on collated (packed or padded) question groups."""
    device, config = torch.device(args.device), run_config(args, packing)
    model = build_model(args, config, device)
    generator = torch.Generator().manual_seed(args.seed)
    embeddings = torch.randn(n_questions, args.perspectives, EMBED_DIM, generator=generator)
    trainer = BenchTrainer(config, model, embeddings)
    pad_id = model.config.pad_token_id

    def step(groups: list[Group]) -> int:
        batch = collate(groups, args.perspectives, pad_id, packing).to(device)
        trainer.step_on([batch])
        return batch.input_ids.numel()

    return step


def measure(
    args: argparse.Namespace, makers: dict[str, Callable[[], Step]], batches: list[list[Group]]
) -> list[Measurement]:
    """Time every side on the same batches after `args.warmup` untimed steps.

    Interleaved, the sides alternate step by step, so a shared machine's changing load hits
    them alike; sequential builds, runs and frees one side at a time (one model resident,
    and each side's peak memory is its own; a side that runs out of memory is reported as
    such and the others still run).
    """
    device = torch.device(args.device)
    timers = {name: Timer(name) for name in makers}
    if args.order == "sequential":
        for name, make in makers.items():
            try:
                step = make()
                for i, groups in enumerate(batches):
                    timers[name].run(step, groups, device, timed=i >= args.warmup)
            except torch.OutOfMemoryError:
                timers[name].error = "out of memory"
            step = None
            release(device)
    else:
        steps = {name: make() for name, make in makers.items()}
        for i, groups in enumerate(batches):
            for name, step in steps.items():
                timers[name].run(step, groups, device, timed=i >= args.warmup)
    return [t.result(device) for t in timers.values()]


def release(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


# -- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--shape", choices=sorted(SHAPES), default="smollm2-135m")
    p.add_argument("--lengths", choices=["full", "varied"], default="varied")
    p.add_argument("--steps", type=int, default=None, help="Timed steps (cpu 2, gpu 5).")
    p.add_argument("--warmup", type=int, default=None, help="Untimed steps (cpu 1, gpu 2).")
    p.add_argument("--batch-seqs", type=int, default=None, help="Sequences per step (cpu 8).")
    p.add_argument("--seq-len", type=int, default=None, help="Longest sequence (cpu 256).")
    p.add_argument("--perspectives", type=int, default=4, help="Rationales per question (K).")
    p.add_argument("--dtype", choices=sorted(DTYPES), default=None, help="cpu fp32, gpu bf16.")
    p.add_argument("--finetune", choices=["lora", "full"], default="lora")
    p.add_argument("--mind-padded", action="store_true", help="Also time MIND unpacked.")
    p.add_argument(
        "--order",
        choices=["interleaved", "sequential"],
        default=None,
        help="Alternate the sides step by step (cpu default: shared machines drift) or run "
        "them one after the other, one model in memory at a time (gpu default).",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="Write all figures here.")
    args = p.parse_args(argv)
    gpu = args.device.startswith("cuda")
    for name, cpu, cuda in [
        ("steps", 2, 5),
        ("warmup", 1, 2),
        ("order", "interleaved", "sequential"),
        ("batch_seqs", 8, 32),
        ("seq_len", 256, 512),
        ("dtype", "float32", "bfloat16"),
    ]:
        if getattr(args, name) is None:
            setattr(args, name, cuda if gpu else cpu)
    if args.batch_seqs % args.perspectives:
        p.error(f"--batch-seqs {args.batch_seqs} is not a multiple of --perspectives")
    return args


def environment(device: torch.device) -> dict[str, Any]:
    return {
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "cpu_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def figures(m: Measurement) -> str:
    if m.error is not None:
        return f"error={m.error.replace(' ', '_')}"
    memory = f" peak_mem_gb={m.peak_memory_gb:.1f}" if m.peak_memory_gb is not None else ""
    return (
        f"real_tok/s={m.real_tokens_per_s:,.0f} slot_tok/s={m.slot_tokens_per_s:,.0f}"
        f" step_s={m.step_s:.3f}{memory}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    batches = token_stream(args, SHAPES[args.shape]().vocab_size, args.warmup + args.steps)
    n_questions = len(batches) * args.batch_seqs
    makers = {
        "plain_hf": lambda: plain_step(args),
        "mind_packed": lambda: mind_step(args, True, n_questions),
    }
    if args.mind_padded:
        makers["mind_padded"] = lambda: mind_step(args, False, n_questions)
    setting = (
        f"shape={args.shape} lengths={args.lengths} finetune={args.finetune} dtype={args.dtype}"
        f" batch={args.batch_seqs}x{args.seq_len} device={args.device}"
    )
    results = measure(args, makers, batches)
    for m in results:
        print(f"{m.name:<14} {figures(m)} {setting}")
    plain, mind = results[0].real_tokens_per_s, results[1].real_tokens_per_s
    ratio = mind / plain if plain and mind else None
    print(f"ratio={ratio:.3f}" if ratio else "ratio=n/a", flush=True)
    if args.json:
        record = {
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "environment": environment(device),
            "measurements": [asdict(m) for m in results],
            "ratio": ratio,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
