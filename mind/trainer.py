"""One trainer for every method: sft, sbs, uniform, mcc, mind (and ablations), specialist.

An optimiser step is `grad_accum` micro-batches of `questions_per_batch` questions, each
question bringing all its kept rationales. The method decides the per-rationale weights
(`mind.methods`); the losses are in `mind.losses`. For `mind`, the first `warmup_fraction`
of steps trains MetaNet alone (the student is not updated), then both train jointly, with
MetaNet on a smaller learning rate and a longer accumulation (inertia).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mind import checkpoint, distributed, losses
from mind.batching import Batch, ExampleTokenizer, collate
from mind.config import RunConfig
from mind.encoder import embed_texts, pair_text
from mind.forward import student_forward
from mind.metanet import MetaNet
from mind.methods import (
    Weights,
    current_loss_weights,
    fixed_weights,
    metanet_weights,
    slot_names,
    spec_for,
    warmup_weights,
)
from mind.reporter import NullReporter, Reporter
from mind.student import load_student, load_tokenizer, pick_device
from mind.training_data import TrainingData


@dataclass
class Position:
    """Where training is: saved in every checkpoint so a resume continues exactly."""

    step: int = 0
    epoch: int = 0
    cursor: int = 0
    meta_pending: int = 0  # micro-batches of MetaNet gradient not yet applied
    tokens_total: int = 0


@dataclass
class MicroResult:
    loss: float
    sft_loss: float
    cons_loss: float | None
    meta_loss: float | None
    tokens: int
    weights: Weights
    mask: torch.Tensor


@dataclass
class SlotStats:
    """Per-slot sums over one optimiser step, turned into means for metrics.jsonl."""

    score: torch.Tensor
    weight: torch.Tensor
    selected: torch.Tensor
    present: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.present = torch.zeros_like(self.score)

    def add(self, w: Weights, mask: torch.Tensor) -> None:
        m = mask.float().cpu()
        self.score += (w.scores.float().cpu() * m).sum(0)
        self.weight += (w.alpha.float().cpu() * m).sum(0)
        self.selected += (w.selected.float().cpu() * m).sum(0)
        self.present += m.sum(0)


def lr_factor(schedule: str, joint_step: int, joint_steps: int) -> float:
    """Multiplier of the student's lr after `joint_step` of `joint_steps` updates."""
    frac = min(joint_step / max(joint_steps, 1), 1.0)
    if schedule == "linear":
        return 1.0 - frac
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * frac))
    return 1.0


def warmup_steps(config: RunConfig) -> int:
    """MIND warm-up length: a fraction of all optimiser steps (0 for other methods)."""
    if not spec_for(config).uses_metanet:
        return 0
    return round(config.mind.warmup_fraction * config.train.max_steps)


def data_fingerprint(data: TrainingData) -> str:
    rows = [(e.question.id, sorted(e.rationales.items())) for e in data.examples]
    return hashlib.sha256(json.dumps([data.perspectives, rows]).encode()).hexdigest()


class Trainer:
    def __init__(self, config: RunConfig, data: TrainingData, out_dir: Path, reporter: Reporter):
        self.config, self.data, self.out_dir, self.reporter = config, data, out_dir, reporter
        self.spec = spec_for(config)
        self.slots = slot_names(config, data.perspectives)
        self.ranks = distributed.join(config.train.devices, pick_device(config.train.device))
        self.device = self.ranks.device(pick_device(config.train.device))
        if not self.ranks.is_main:
            self.reporter = NullReporter()
        self.warmup = warmup_steps(config)
        self.pos = Position()
        torch.manual_seed(config.seed)
        self.tokenizer = load_tokenizer(config.student)
        encoder = ExampleTokenizer(
            self.tokenizer, config.train.instruction, config.train.max_seq_len
        )
        self.groups = [
            encoder.encode_example(i, ex, self.slots, config.method)
            for i, ex in enumerate(data.examples)
        ]
        self.model = load_student(config.student, config.train).to(self.device)
        self.model.train()
        params = [p for p in self.model.parameters() if p.requires_grad]
        t = config.train
        self.optimizer = torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
        joint_steps = t.max_steps - self.warmup
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda j: lr_factor(t.lr_schedule, j, joint_steps)
        )
        self.metanet: MetaNet | None = None
        self.ema: torch.Tensor | None = None
        if self.spec.uses_metanet:
            self._setup_metanet()

    # -- setup ---------------------------------------------------------------------------

    def _setup_metanet(self) -> None:
        m = self.config.mind
        pairs = [
            (i, s, pair_text(ex.question.question, ex.rationales[p]))
            for i, ex in enumerate(self.data.examples)
            for s, p in enumerate(self.slots)
            if p in ex.rationales
        ]
        self.reporter.event("info", f"embedding {len(pairs)} rationales with {m.encoder}")
        if not self.ranks.is_main:
            distributed.barrier(self.ranks)  # rank 0 fills the embedding cache first
        vectors = embed_texts([t for _, _, t in pairs], m.encoder, self.out_dir / "embeddings.pt")
        if self.ranks.is_main:
            distributed.barrier(self.ranks)
        self.embeddings = torch.zeros(len(self.data.examples), len(self.slots), vectors.shape[1])
        for (i, s, _), v in zip(pairs, vectors, strict=True):
            self.embeddings[i, s] = v
        self.metanet = MetaNet(
            vectors.shape[1],
            len(self.slots),
            m.metanet_dim,
            m.metanet_heads,
            synergy=not m.no_synergy,
        ).to(self.device)
        self.meta_optimizer = torch.optim.AdamW(self.metanet.parameters(), lr=self.config.train.lr)

    # -- data ----------------------------------------------------------------------------

    def _order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.config.seed, epoch]).permutation(len(self.groups))

    def _next_batch(self) -> Batch:
        picked = []
        while len(picked) < self.config.train.questions_per_batch:
            order = self._order(self.pos.epoch)
            picked.append(self.groups[order[self.pos.cursor]])
            self.pos.cursor += 1
            if self.pos.cursor == len(order):
                self.pos.epoch, self.pos.cursor = self.pos.epoch + 1, 0
        picked = picked[distributed.local_rows(len(picked), self.ranks)]
        pad_id, packed = self.tokenizer.pad_token_id, self.config.train.packing
        return collate(picked, len(self.slots), pad_id, packed).to(self.device)

    # -- one step --------------------------------------------------------------------------

    def _weights(
        self, mask: torch.Tensor, example_index: list[int], ce: torch.Tensor, joint: bool
    ) -> tuple[Weights, Any]:
        """Per-slot weights [Q, P] of the global batch, and MetaNet's loss (or None)."""
        m = self.config.mind
        if self.metanet is None:
            if self.config.method == "mind":  # no_inertia ablation
                return current_loss_weights(ce, mask, m), None
            return fixed_weights(self.config.method, mask), None
        emb = self.embeddings[example_index].to(self.device)
        scores = self.metanet(emb, mask)
        meta = losses.meta_loss(scores, self._meta_target(ce, mask), mask, m.tau_meta)
        weights = metanet_weights(scores, mask, m) if joint else warmup_weights(scores, mask)
        return weights, meta

    def _meta_target(self, ce: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The live losses, or their per-perspective EMA when `ema_momentum` is set."""
        mu = self.config.mind.ema_momentum
        if mu is None:
            return ce.detach()
        m = mask.float()
        batch_mean = (ce.detach() * m).sum(0) / m.sum(0).clamp_min(1)
        seen = m.sum(0) > 0
        if self.ema is None:
            self.ema = torch.where(seen, batch_mean, torch.zeros_like(batch_mean))
        else:
            self.ema = torch.where(seen, mu * self.ema + (1 - mu) * batch_mean, self.ema)
        return self.ema.expand_as(ce)

    def _micro_step(self, batch: Batch, joint: bool) -> MicroResult:
        # In warm-up the student only provides losses (no graph); MetaNet always learns.
        with torch.set_grad_enabled(joint):
            out = student_forward(
                self.model,
                batch,
                with_answers=self.spec.consistency,
                packed_attention=self.config.train.packed_attention,
            )
        q, p = batch.slot_mask.shape
        ce = torch.zeros(q, p, device=out.ce.device).index_put((batch.row, batch.slot), out.ce)
        every = distributed.gather_questions(ce, batch.slot_mask, batch.example_index, self.ranks)
        all_weights, meta = self._weights(every[1], every[2], every[0], joint)
        rows = distributed.local_rows(len(every[2]), self.ranks)
        weights = Weights(
            *(w[rows] for w in (all_weights.scores, all_weights.alpha, all_weights.selected))
        )
        sft = (weights.alpha * ce).sum(-1)
        cons = None
        if self.spec.consistency:
            cons = self._consistency(batch, out.answer_logprobs, weights.alpha)
        loss = (sft + self.config.mind.lambda_cons * cons if cons is not None else sft).mean()
        if joint:
            (loss / self.config.train.grad_accum).backward()
        if meta is not None:
            self._meta_update(meta, joint)
        local = [loss.item(), sft.mean().item(), batch.tokens]
        if cons is not None:
            local.append(cons.mean().item())
        means = distributed.mean_over_ranks(local, self.ranks)
        return MicroResult(
            means[0],
            means[1],
            None if cons is None else means[3],
            None if meta is None else meta.item(),
            round(means[2] * self.ranks.world),
            all_weights,
            every[1],
        )

    def _consistency(self, batch: Batch, logprobs: Any, alpha: torch.Tensor) -> torch.Tensor:
        q, p = batch.slot_mask.shape
        _, a, v = logprobs.shape
        per_slot = logprobs.new_zeros(q, p, a, v).index_put((batch.row, batch.slot), logprobs)
        answer_mask = torch.zeros(q, a, dtype=torch.bool, device=logprobs.device)
        answer_mask[batch.row] = batch.answer_mask
        return losses.consistency_loss(per_slot, answer_mask, alpha)

    def _meta_update(self, meta: torch.Tensor, joint: bool) -> None:
        """Accumulate MetaNet's gradient; step it with inertia once enough has gathered."""
        t, m = self.config.train, self.config.mind
        need = t.grad_accum * (m.meta_accum_scale if joint else 1)
        (meta / need).backward()
        self.pos.meta_pending += 1
        if self.pos.meta_pending >= need:
            for group in self.meta_optimizer.param_groups:
                group["lr"] = t.lr * (m.meta_lr_scale if joint else 1.0)
            self.meta_optimizer.step()
            self.meta_optimizer.zero_grad(set_to_none=True)
            self.pos.meta_pending = 0

    def optimiser_step(self) -> dict[str, Any]:
        """Run one optimiser step on the next batches and return its metrics record."""
        return self.step_on([self._next_batch() for _ in range(self.config.train.grad_accum)])

    def step_on(self, batches: list[Batch]) -> dict[str, Any]:
        """One optimiser step over the given micro-batches (benchmarks feed their own)."""
        joint = self.pos.step >= self.warmup
        lr = self.scheduler.get_last_lr()[0] if joint else 0.0
        start = time.perf_counter()
        parts = [self._micro_step(batch, joint) for batch in batches]
        if joint:
            params = [p for p in self.model.parameters() if p.requires_grad]
            distributed.average_gradients(params, self.ranks)
            torch.nn.utils.clip_grad_norm_(params, self.config.train.max_grad_norm)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
        self.pos.step += 1
        return self._record(parts, joint, lr, time.perf_counter() - start)

    def _record(self, parts: list[MicroResult], joint: bool, lr: float, secs: float):
        tokens = sum(r.tokens for r in parts)
        self.pos.tokens_total += tokens
        zeros = torch.zeros(len(self.slots))
        stats = SlotStats(zeros.clone(), zeros.clone(), zeros.clone())
        for r in parts:
            stats.add(r.weights, r.mask)

        def mean(values: list[float | None]) -> float | None:
            real = [v for v in values if v is not None]
            return sum(real) / len(real) if real else None

        perspectives = {
            name: {
                "score": (stats.score[k] / stats.present[k]).item(),
                "weight": (stats.weight[k] / stats.present[k]).item(),
                "selected": (stats.selected[k] / stats.present[k]).item(),
                "present": int(stats.present[k]),
            }
            for k, name in enumerate(self.slots)
            if stats.present[k] > 0
        }
        return {
            "step": self.pos.step,
            "phase": "joint" if joint else "warmup",
            "epoch": self.pos.epoch,
            "loss": mean([r.loss for r in parts]),
            "sft_loss": mean([r.sft_loss for r in parts]),
            "cons_loss": mean([r.cons_loss for r in parts]),
            "meta_loss": mean([r.meta_loss for r in parts]),
            "lr": lr,
            "tokens": tokens,
            "tokens_total": self.pos.tokens_total,
            "tokens_per_s": tokens / secs,
            "perspectives": perspectives,
        }

    # -- checkpoints -----------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "position": asdict(self.pos),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "ema": self.ema,
        }
        if self.metanet is not None:
            state["metanet"] = self.metanet.state_dict()
            state["meta_optimizer"] = self.meta_optimizer.state_dict()
        return state

    def save(self) -> Path:
        manifest = {
            "method": self.config.method,
            "student": self.config.student,
            "data_sha256": data_fingerprint(self.data),
        }
        path = self.out_dir / "checkpoints" / f"step-{self.pos.step}"
        if self.ranks.is_main:  # every rank holds the same state
            checkpoint.save(
                self.out_dir / "checkpoints",
                self.pos.step,
                self.model,
                self.state(),
                manifest,
                self.config.train.keep_checkpoints,
            )
        distributed.barrier(self.ranks)
        self.reporter.event("checkpoint", f"saved {path.name}", step=self.pos.step, path=str(path))
        return path

    def restore(self, path: Path) -> None:
        manifest = checkpoint.read_manifest(path)
        if manifest["data_sha256"] != data_fingerprint(self.data):
            raise ValueError(
                f"{path}: the training data changed since this checkpoint was written "
                "(rationale files or data settings differ); start a new run instead"
            )
        checkpoint.load_weights(self.model, path)
        state = checkpoint.load_trainer_state(path)
        self.pos = Position(**state["position"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.ema = state["ema"]
        if self.metanet is not None:
            self.metanet.load_state_dict(state["metanet"])
            self.meta_optimizer.load_state_dict(state["meta_optimizer"])
        checkpoint.set_rng_state(state["rng"])

    # -- loop ------------------------------------------------------------------------------

    def train(self, stop_at: int | None = None) -> dict[str, Any]:
        """Train to `max_steps` (or `stop_at`), checkpointing; stop early if asked to."""
        t = self.config.train
        target = min(t.max_steps, stop_at or t.max_steps)
        start, last = time.time(), {}
        status = "completed"
        while self.pos.step < target:
            if distributed.any_rank(self.reporter.should_stop(), self.ranks):
                status = "stopped"
                break
            last = self.optimiser_step()
            self.reporter.log_step(last)
            self.reporter.progress("training", self.pos.step / t.max_steps)
            if self.pos.step % t.save_every == 0 or self.pos.step == target:
                self.save()
        if status == "stopped" or self.pos.step < t.max_steps:
            status = "stopped"
            missing = not (self.out_dir / "checkpoints" / f"step-{self.pos.step}").exists()
            if distributed.any_rank(missing, self.ranks):
                self.save()
        return {
            "status": status,
            "steps": self.pos.step,
            "max_steps": t.max_steps,
            "warmup_steps": self.warmup,
            "wall_time_s": time.time() - start,
            "tokens_total": self.pos.tokens_total,
            "final": {k: last.get(k) for k in ("loss", "sft_loss", "cons_loss", "meta_loss")},
        }
