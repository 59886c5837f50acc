"""MIND's per-token overhead over plain SFT, on the same student and the same batches.

Both arms train the same LoRA student from the same initial weights on the same
micro-batches (each question's K rationales together): padded for the HF step, laid out as
the trainer lays them out (packed by default) for the MIND step. Plain SFT is the usual Hugging Face
step: `model(input_ids, attention_mask, labels).loss.backward()` and AdamW. The MIND step is
the trainer's own (MetaNet, selection, consistency, inertia), in its joint phase. The arms
alternate step by step so machine noise hits both alike.

    .venv/bin/python bench/train_overhead.py            # real SmolLM2-135M, SVAMP rationales

Last line: overhead_ratio=<MIND seconds per token / SFT seconds per token>.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from mind.batching import collate
from mind.config import parse_config
from mind.losses import IGNORE_INDEX
from mind.reporter import NullReporter
from mind.student import load_student
from mind.trainer import Trainer
from mind.training_data import load_training_data

SHARED = Path(__file__).resolve().parents[2] / "shared"


def build_trainer(args: argparse.Namespace, out_dir: Path) -> Trainer:
    config = parse_config(
        {
            "student": args.student,
            "method": "mind",
            "perspectives": ["formal_symbolic", "decomposition", "planning", "other:standard_cot"],
            "data": {
                "questions": str(SHARED / "datasets/svamp/test.jsonl"),
                "rationales": str(SHARED / "teacher_rationales/svamp_test.jsonl"),
                "max_questions": args.questions,
            },
            "train": {
                "max_steps": 10_000,
                "questions_per_batch": args.questions_per_batch,
                "max_seq_len": args.max_seq_len,
            },
            "mind": {"warmup_fraction": 0.0},
        }
    )
    return Trainer(config, load_training_data(config), out_dir, NullReporter()).setup()


def hf_labels(labels: torch.Tensor) -> torch.Tensor:
    """Our labels are pre-shifted (labels[t] is predicted at t); HF shifts itself."""
    shifted = torch.full_like(labels, IGNORE_INDEX)
    shifted[:, 1:] = labels[:, :-1]
    return shifted


def sft_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch) -> None:
    out = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        labels=hf_labels(batch.labels),
    )
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", default="smollm2-135m-instruct")
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--questions-per-batch", type=int, default=2)
    parser.add_argument("--max-seq-len", type=int, default=256)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per arm")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per arm")
    parser.add_argument("--out", type=Path, default=Path("/tmp/mind-bench-overhead"))
    args = parser.parse_args()
    torch.manual_seed(0)

    trainer = build_trainer(args, args.out)
    q = args.questions_per_batch
    groups = trainer.groups
    pad_id, packed = trainer.tokenizer.pad_token_id, trainer.config.train.packing
    chunks = [groups[i : i + q] for i in range(0, len(groups) - q + 1, q)]
    batches = [collate(c, len(trainer.slots), pad_id) for c in chunks]  # for the HF step
    mind_batches = [collate(c, len(trainer.slots), pad_id, packed) for c in chunks]
    sft_model = load_student(args.student, trainer.config.train)
    sft_model.load_state_dict(trainer.model.state_dict())
    sft_model.train()
    sft_opt = torch.optim.AdamW(
        [p for p in sft_model.parameters() if p.requires_grad], lr=trainer.config.train.lr
    )

    times: dict[str, list[float]] = {"sft": [], "mind": []}
    tokens: list[int] = []
    for i in range(args.warmup + args.steps):
        batch = batches[i % len(batches)]
        t0 = time.perf_counter()
        sft_step(sft_model, sft_opt, batch)
        t1 = time.perf_counter()
        trainer.step_on([mind_batches[i % len(batches)]])
        t2 = time.perf_counter()
        if i >= args.warmup:
            times["sft"].append(t1 - t0)
            times["mind"].append(t2 - t1)
            tokens.append(int((batch.labels != IGNORE_INDEX).sum()))

    total_tokens = sum(tokens)
    per_token = {arm: sum(ts) / total_tokens for arm, ts in times.items()}
    print(
        f"student={args.student} threads={torch.get_num_threads()} steps={args.steps} "
        f"trained_tokens={total_tokens} seqs_per_step={batches[0].input_ids.shape[0]}"
    )
    for arm, ts in times.items():
        print(
            f"{arm}: median_step_s={statistics.median(ts):.3f} "
            f"s_per_token={per_token[arm] * 1e3:.3f}ms tokens_per_s={1 / per_token[arm]:.1f}"
        )
    print(f"overhead_ratio={per_token['mind'] / per_token['sft']:.3f}")


if __name__ == "__main__":
    main()
