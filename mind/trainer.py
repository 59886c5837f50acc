"""One trainer for every method: sft, sbs, uniform, mcc, mind (and ablations), specialist.

An optimizer step is `grad_accum` micro-batches of `questions_per_batch` questions, each
question bringing all its kept rationales. The method decides the per-rationale weights
(`mind.methods`); the losses are in `mind.losses`. For `mind`, the first `warmup_fraction`
of steps trains MetaNet alone (the student is not updated), then both train jointly; the
teaching assistant (`mind.assistant`) owns MetaNet, its target and the selection rule.
Each step yields a `mind.step_record.StepRecord`; `tokens_trained` counts only the tokens
that received gradient, `tokens` every token presented.
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

from mind import checkpoint, distributed, losses, sharding
from mind.assistant import TeachingAssistant, rank_correlation, selection_entropy
from mind.batching import Batch, ExampleTokenizer, Group, check_fits, collate
from mind.config import RunConfig
from mind.forward import StudentOutput, student_forward
from mind.methods import Weights, fixed_weights, slot_names, spec_for, warmup_steps
from mind.reporter import NullReporter, Reporter
from mind.step_record import LOSSES, PerspectiveStats, StepRecord
from mind.student import DTYPES, load_student, load_tokenizer, pick_device, pick_dtype
from mind.training_data import TrainingData


@dataclass
class Position:
    """Where training is: saved in every checkpoint so a resume continues exactly."""

    step: int = 0
    epoch: int = 0
    cursor: int = 0
    tokens_total: int = 0
    tokens_trained_total: int = 0
    single_streak: int = 0  # joint steps in a row whose selected set had one member
    wall_time_s: float = 0.0  # spent in `train` over every attempt, up to this checkpoint


@dataclass
class MicroResult:
    loss: float
    sft_loss: float
    cons_loss: float | None
    meta_loss: float | None
    tokens: int
    tokens_trained: int
    rank_corr: float | None
    weights: Weights
    mask: torch.Tensor


@dataclass
class SlotStats:
    """Per-slot sums over one optimizer step, turned into means for metrics.jsonl."""

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


def data_fingerprint(data: TrainingData) -> str:
    rows = [(e.question.id, sorted(e.rationales.items())) for e in data.examples]
    return hashlib.sha256(json.dumps([data.perspectives, rows]).encode()).hexdigest()


def _mean(values: list[float | None]) -> float | None:
    real = [v for v in values if v is not None]
    return sum(real) / len(real) if real else None


class Trainer:
    """`Trainer(...)` only reads the config; `setup()` loads, encodes and embeds."""

    def __init__(self, config: RunConfig, data: TrainingData, out_dir: Path, reporter: Reporter):
        self.config, self.data, self.out_dir, self.reporter = config, data, out_dir, reporter
        self.spec = spec_for(config)
        self.slots = slot_names(config, data.perspectives)
        self.ranks = distributed.join(config.train.devices, pick_device(config.train.device))
        self.device = self.ranks.device(pick_device(config.train.device))
        if not self.ranks.is_main:
            self.reporter = NullReporter()
        self.warmup = warmup_steps(config)
        self.joint_steps = config.train.max_steps - self.warmup
        self.pos = Position()
        self.tokenizer: Any = None
        self.groups: list[Group] = []
        self.probe_groups: list[Group] = []
        self.no_consistency_slots = torch.zeros(len(data.examples), len(self.slots), dtype=bool)
        self.model: Any = None
        # Full fine-tuning on several ranks shards the student (FSDP2); `root` is then the
        # module the forward goes through. LoRA replicates it and averages gradients.
        self.sharded = config.train.finetune == "full" and self.ranks.world > 1
        self.root: sharding.ShardedStudent | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: torch.optim.lr_scheduler.LambdaLR | None = None
        self.assistant: TeachingAssistant | None = None
        if self.spec.uses_assistant:
            self.assistant = TeachingAssistant(
                config, self.slots, self.spec.uses_metanet, self.joint_steps
            )

    # -- setup ---------------------------------------------------------------------------

    def setup(self) -> Trainer:
        """Load the tokenizer and student, encode the data, build optimizers and MetaNet."""
        config, t = self.config, self.config.train
        torch.manual_seed(config.seed)
        self.tokenizer = load_tokenizer(config.student)
        encoder = ExampleTokenizer(self.tokenizer, t.instruction, t.max_seq_len)
        sbs = self.spec.slots == "sbs_tasks"
        check_fits(encoder, self.data.examples, self.slots, sbs)
        self.groups = [
            encoder.encode_example(i, ex, self.slots, sbs)
            for i, ex in enumerate(self.data.examples)
        ]
        self.probe_groups = self.groups[: t.probe_questions]
        if config.mind.program_rationales == "no_consistency":
            for i, ex in enumerate(self.data.examples):
                for p in ex.programs & set(self.slots):
                    self.no_consistency_slots[i, self.slots.index(p)] = True
        if self.sharded:  # each rank loads on the CPU and keeps only its shard on the device
            dtype = pick_dtype(t.dtype, self.device)
            name = next(k for k, v in DTYPES.items() if v == dtype)
            on_cpu = t.model_copy(update={"device": "cpu", "dtype": name})
            self.model = load_student(config.student, on_cpu)
            self.root = sharding.shard(self.model, self.ranks.world, self.device)
        else:
            self.model = load_student(config.student, t).to(self.device)
        self.model.train()
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda j: lr_factor(t.lr_schedule, j, self.joint_steps)
        )
        if self.assistant is not None:
            base = self.ce_table(self.groups) if self.assistant.needs_base_ce else None
            if not self.ranks.is_main:
                distributed.barrier(self.ranks)  # rank 0 fills the embedding cache first
            self.assistant.setup(self.data.examples, self.out_dir, self.reporter, self.device, base)
            if self.ranks.is_main:
                distributed.barrier(self.ranks)
        return self

    @torch.no_grad()
    def ce_table(self, groups: list[Group]) -> torch.Tensor:
        """The student's CE on every sequence of `groups`, [len(groups), P] (NaN if absent)."""
        was_training = self.model.training
        self.model.eval()
        table = torch.full((len(groups), len(self.slots)), float("nan"))
        per_batch = self.config.train.questions_per_batch
        for start in range(0, len(groups), per_batch):
            batch = self._collate(groups[start : start + per_batch])
            ce = self._forward(batch, with_answers=False).ce.float().cpu()
            table[start + batch.row.cpu(), batch.slot.cpu()] = ce
        self.model.train(was_training)
        return table

    def _forward(self, batch: Batch, with_answers: bool) -> StudentOutput:
        """`student_forward` on this rank's batch (through the FSDP root when sharded)."""
        kernel = self.config.train.packed_attention
        if self.root is not None:
            return self.root.run(batch, with_answers, kernel)
        return student_forward(self.model, batch, with_answers, kernel)

    # -- data ----------------------------------------------------------------------------

    def _order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.config.seed, epoch]).permutation(len(self.groups))

    def _collate(self, groups: list[Group]) -> Batch:
        pad_id, packed = self.tokenizer.pad_token_id, self.config.train.packing
        return collate(groups, len(self.slots), pad_id, packed).to(self.device)

    def _next_batch(self) -> Batch:
        picked = []
        while len(picked) < self.config.train.questions_per_batch:
            order = self._order(self.pos.epoch)
            picked.append(self.groups[order[self.pos.cursor]])
            self.pos.cursor += 1
            if self.pos.cursor == len(order):
                self.pos.epoch, self.pos.cursor = self.pos.epoch + 1, 0
        picked = picked[distributed.local_rows(len(picked), self.ranks)]
        return self._collate(picked)

    # -- one step --------------------------------------------------------------------------

    def _joint_step(self) -> int:
        return self.pos.step - self.warmup

    def _weights(
        self, mask: torch.Tensor, example_index: list[int], ce: torch.Tensor, joint: bool
    ) -> tuple[Weights, Any]:
        """Per-slot weights [Q, P] of the global batch, and MetaNet's loss (None without it)."""
        if self.assistant is None:
            return fixed_weights(self.spec, mask), None
        joint_step = self._joint_step() if joint else None
        return self.assistant.weigh(example_index, ce, mask, joint_step)

    def _micro_step(self, batch: Batch, joint: bool) -> MicroResult:
        # In warm-up the student only provides losses (no graph); MetaNet always learns.
        with torch.set_grad_enabled(joint):
            out = self._forward(batch, with_answers=self.spec.consistency)
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
        if meta is not None and self.assistant is not None:
            factor = lr_factor(self.config.train.lr_schedule, self._joint_step(), self.joint_steps)
            self.assistant.learn(meta, joint, factor)
        gets_gradient = weights.alpha[batch.row, batch.slot] > 0
        trained = int(batch.lengths[gets_gradient.to(batch.lengths.device)].sum()) if joint else 0
        corr = None
        if self.assistant is not None:
            corr = rank_correlation(all_weights.scores, every[0], every[1])
        local = [loss.item(), sft.mean().item(), batch.tokens, trained]
        if cons is not None:
            local.append(cons.mean().item())
        means = distributed.mean_over_ranks(local, self.ranks)
        return MicroResult(
            means[0],
            means[1],
            None if cons is None else means[4],
            None if meta is None else meta.item(),
            round(means[2] * self.ranks.world),
            round(means[3] * self.ranks.world),
            corr,
            all_weights,
            every[1],
        )

    def _consistency(self, batch: Batch, logprobs: Any, alpha: torch.Tensor) -> torch.Tensor:
        """L_cons over the selected pairs, leaving out slots flagged as programs."""
        q, p = batch.slot_mask.shape
        _, a, v = logprobs.shape
        per_slot = logprobs.new_zeros(q, p, a, v).index_put((batch.row, batch.slot), logprobs)
        answer_mask = torch.zeros(q, a, dtype=torch.bool, device=logprobs.device)
        answer_mask[batch.row] = batch.answer_mask
        excluded = self.no_consistency_slots[batch.example_index].to(alpha.device)
        return losses.consistency_loss(per_slot, answer_mask, alpha.masked_fill(excluded, 0.0))

    def optimizer_step(self) -> StepRecord:
        """Run one optimizer step on the next batches and return its record."""
        record = self.step_on([self._next_batch() for _ in range(self.config.train.grad_accum)])
        t = self.config.train
        if self.probe_groups and self.pos.step % t.probe_every == 0:
            table = self.ce_table(self.probe_groups)
            record.probe_ce.update(
                (name, table[:, k].nanmean().item())
                for k, name in enumerate(self.slots)
                if not table[:, k].isnan().all()
            )
        return record

    def step_on(self, batches: list[Batch]) -> StepRecord:
        """One optimizer step over the given micro-batches (benchmarks feed their own)."""
        assert self.optimizer is not None and self.scheduler is not None, "call setup() first"
        joint = self.pos.step >= self.warmup
        lr = self.scheduler.get_last_lr()[0] if joint else 0.0
        start = time.perf_counter()
        parts = [self._micro_step(batch, joint) for batch in batches]
        if joint:
            params = [p for p in self.model.parameters() if p.requires_grad]
            if self.root is None:  # FSDP's reduce-scatter has averaged them already
                distributed.average_gradients(params, self.ranks)
            torch.nn.utils.clip_grad_norm_(params, self.config.train.max_grad_norm)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
        self.pos.step += 1
        return self._record(parts, joint, lr, time.perf_counter() - start)

    def _record(self, parts: list[MicroResult], joint: bool, lr: float, secs: float) -> StepRecord:
        tokens = sum(r.tokens for r in parts)
        trained = sum(r.tokens_trained for r in parts)
        self.pos.tokens_total += tokens
        self.pos.tokens_trained_total += trained
        zeros = torch.zeros(len(self.slots))
        stats = SlotStats(zeros.clone(), zeros.clone(), zeros.clone())
        sizes, entropies = [], []
        for r in parts:
            stats.add(r.weights, r.mask)
            rows = r.mask.any(-1)
            sizes += r.weights.selected[rows].sum(-1).float().tolist()
            entropies += selection_entropy(r.weights.alpha[rows].float()).tolist()
        perspectives = {
            name: PerspectiveStats(
                score=(stats.score[k] / stats.present[k]).item(),
                weight=(stats.weight[k] / stats.present[k]).item(),
                selected=(stats.selected[k] / stats.present[k]).item(),
                present=int(stats.present[k]),
            )
            for k, name in enumerate(self.slots)
            if stats.present[k] > 0
        }
        scalars = {
            "loss": sum(r.loss for r in parts) / len(parts),
            "sft_loss": sum(r.sft_loss for r in parts) / len(parts),
            "cons_loss": _mean([r.cons_loss for r in parts]),
            "meta_loss": _mean([r.meta_loss for r in parts]),
            "lr": lr,
            "tokens": tokens,
            "tokens_trained": trained,
            "tokens_total": self.pos.tokens_total,
            "tokens_trained_total": self.pos.tokens_trained_total,
            "tokens_per_s": tokens / secs,
            "selected_size": sum(sizes) / max(len(sizes), 1),
            "selection_entropy": sum(entropies) / max(len(entropies), 1),
            "score_loss_rank_corr": _mean([r.rank_corr for r in parts]),
        }
        phase = "joint" if joint else "warmup"
        return StepRecord(self.pos.step, phase, self.pos.epoch, scalars, perspectives)

    def _watch_selection(self, record: StepRecord) -> None:
        """Warn once when the selected set has had a single member for too many steps."""
        if self.assistant is None or record.phase != "joint":
            return
        single = (record.get("selected_size") or 0.0) <= 1.0 + 1e-6
        self.pos.single_streak = self.pos.single_streak + 1 if single else 0
        m = self.config.mind
        if self.pos.single_streak == m.collapse_warning_steps:
            self.reporter.event(
                "warning",
                f"the selected set has had one member for {m.collapse_warning_steps} steps: "
                "the student trains on one perspective and the consistency loss is 0. Likely "
                f"cause: MetaNet ranks by '{m.meta_target}', whose gaps between perspectives "
                "grow as the student trains (rich get richer), and the selection threshold "
                "keeps only the best. Knobs: mind.preset (adaptive), mind.meta_target "
                "(progress), mind.min_selected (2), mind.select_on (prob), mind.beta (lower).",
                step=record.step,
            )

    # -- checkpoints -----------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything but the weights. Call on every rank: a sharded optimizer state is
        gathered (a collective); rank 0 gets it whole."""
        assert self.optimizer is not None and self.scheduler is not None
        full = self.config.train.finetune == "full"  # keyed by name: any number of ranks
        state: dict[str, Any] = {
            "position": asdict(self.pos),
            "optimizer": sharding.full_optimizer_state(self.model, self.optimizer)
            if full
            else self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
        }
        if self.assistant is not None:
            state["assistant"] = self.assistant.state()
        return state

    def save(self) -> Path:
        manifest = {
            "method": self.config.method,
            "student": self.config.student,
            "data_sha256": data_fingerprint(self.data),
        }
        path = self.out_dir / "checkpoints" / f"step-{self.pos.step}"
        state = self.state()  # every rank: gathering sharded state is a collective
        weights = sharding.full_weights(self.model) if self.root is not None else None
        if self.ranks.is_main:  # rank 0 writes the one (full) checkpoint
            checkpoint.save(
                self.out_dir / "checkpoints",
                self.pos.step,
                self.model,
                state,
                manifest,
                self.config.train.keep_checkpoints,
                weights,
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
        if self.root is not None:  # every rank reads the full weights and keeps its shard
            sharding.load_weights(self.model, checkpoint.full_weights(path, self.model.dtype))
        else:
            checkpoint.load_weights(self.model, path)
        state = checkpoint.load_trainer_state(path)
        self.pos = Position(**state["position"])
        assert self.optimizer is not None and self.scheduler is not None
        if sharding.keyed_by_name(state["optimizer"]):
            sharding.load_optimizer_state(self.model, self.optimizer, state["optimizer"])
        else:  # LoRA, or a full fine-tune saved before optimizer states were keyed by name
            self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.assistant is not None:
            self.assistant.load_state(state["assistant"])
        checkpoint.set_rng_state(state["rng"])

    # -- loop ------------------------------------------------------------------------------

    def train(self, stop_at: int | None = None) -> dict[str, Any]:
        """Train to `max_steps` (or `stop_at`), checkpointing; stop early if asked to."""
        t = self.config.train
        target = min(t.max_steps, stop_at or t.max_steps)
        start, before, last = time.perf_counter(), self.pos.wall_time_s, None

        def clock() -> None:
            """Wall time so far, earlier attempts included (restored with the position)."""
            self.pos.wall_time_s = before + time.perf_counter() - start

        status = "completed"
        while self.pos.step < target:
            if distributed.any_rank(self.reporter.should_stop(), self.ranks):
                status = "stopped"
                break
            last = self.optimizer_step()
            self.reporter.log_step(last.as_dict())
            self._watch_selection(last)
            self.reporter.progress("training", self.pos.step / t.max_steps)
            clock()
            if self.pos.step % t.save_every == 0 or self.pos.step == target:
                self.save()
        if status == "stopped" or self.pos.step < t.max_steps:
            status = "stopped"
            missing = not (self.out_dir / "checkpoints" / f"step-{self.pos.step}").exists()
            if distributed.any_rank(missing, self.ranks):
                clock()
                self.save()
        clock()
        return {
            "status": status,
            "steps": self.pos.step,
            "max_steps": t.max_steps,
            "warmup_steps": self.warmup,
            "wall_time_s": self.pos.wall_time_s,
            "tokens_presented": self.pos.tokens_total,
            "tokens_trained": self.pos.tokens_trained_total,
            "final": {k: None if last is None else last.get(k) for k in LOSSES},
        }
