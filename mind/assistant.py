"""MIND's teaching assistant as one unit (method spec section 3).

It owns the frozen embeddings of every (question, rationale) pair, MetaNet with its
optimizer and inertia (a smaller learning rate, a longer accumulation and, optionally, a
Polyak average whose scores set the weights), the target MetaNet learns to rank
(`mind.meta_target`) and the rule that turns scores into the selected set and weights.

The trainer calls `setup` once, then per micro-batch `weigh` (weights for the student and
MetaNet's loss) and `learn` (MetaNet's gradient and, when due, its step), and `state` /
`load_state` for checkpoints. Under the `no_inertia` ablation there is no MetaNet: the
scores are the current target's softmax, and everything else stays the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from mind import losses
from mind.config import MindConfig, RunConfig
from mind.curation import Example
from mind.encoder import embed_texts, pair_text
from mind.metanet import MetaNet
from mind.methods import Weights
from mind.reporter import Reporter


class TargetTracker:
    """What MetaNet ranks, per (question, slot): lower values rank first, like a loss.

    raw: the live CE. excess: CE minus the base student's CE on the same rationale (the
    reducible part, as in RHO-LOSS and DoReMi). progress: the CE's decrease since the
    question was last seen, negated so that more progress ranks first (learning progress,
    Oudeyer et al. 2007; Graves et al. 2017). centred: CE standardised with its perspective's
    running mean and std (removes the perspective's writing-style level). `ema_momentum`
    smooths the value per (question, slot) across visits.
    """

    def __init__(self, n_questions: int, n_slots: int, cfg: MindConfig):
        self.kind, self.momentum = cfg.meta_target, cfg.ema_momentum
        nan = torch.full((n_questions, n_slots), float("nan"))
        self.last, self.smooth = nan.clone(), nan.clone()
        self.count, self.mean, self.m2 = (torch.zeros(n_slots) for _ in range(3))
        self.base: torch.Tensor | None = None  # [N, P] base-student CE, for "excess"

    def __call__(self, index: list[int], ce: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The target [Q, P] for this micro-batch; updates the memory. 0 where masked."""
        live, present, rows = ce.detach().float().cpu(), mask.cpu(), torch.tensor(index)
        value = self._value(rows, live, present)
        self.last[rows] = torch.where(present, live, self.last[rows])
        if self.momentum is not None:
            prev = self.smooth[rows]
            mixed = self.momentum * prev + (1 - self.momentum) * value
            value = torch.where(prev.isnan(), value, mixed)
            self.smooth[rows] = torch.where(present, value, prev)
        target = -value if self.kind == "progress" else value
        return target.masked_fill(~present, 0.0).to(ce.device)

    def _value(self, rows: torch.Tensor, ce: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        if self.kind == "excess":
            assert self.base is not None, "setup() computes the base CE for meta_target=excess"
            return ce - self.base[rows]
        if self.kind == "progress":
            last = self.last[rows]
            return torch.where(last.isnan(), torch.zeros_like(ce), last - ce)
        if self.kind == "centred":
            self._update_moments(ce, present)
            std = (self.m2 / (self.count - 1).clamp_min(1)).sqrt().clamp_min(1e-6)
            return (ce - self.mean) / std
        return ce

    def _update_moments(self, ce: torch.Tensor, present: torch.Tensor) -> None:
        """Chan et al.'s parallel update of each slot's running mean and squared deviations."""
        m = present.float()
        n_b = m.sum(0)
        mean_b = (ce * m).sum(0) / n_b.clamp_min(1)
        m2_b = (((ce - mean_b) * m) ** 2).sum(0)
        total = self.count + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * n_b / total.clamp_min(1)
        self.m2 = self.m2 + m2_b + delta**2 * self.count * n_b / total.clamp_min(1)
        self.count = total

    def state(self) -> dict[str, torch.Tensor]:
        return {k: getattr(self, k) for k in ("last", "smooth", "count", "mean", "m2")}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


def selection_entropy(alpha: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of each row's weights [Q, P] -> [Q]: 0 for a single member."""
    return -(alpha * alpha.clamp_min(1e-12).log()).sum(-1)


def rank_correlation(scores: torch.Tensor, ce: torch.Tensor, mask: torch.Tensor) -> float | None:
    """Mean Spearman correlation, per question, of scores with -CE (the live loss ranking).

    +1: MetaNet ranks the rationales the student finds easiest first. Rows with fewer than
    two present slots are skipped; None when none is left.
    """
    values = []
    for s, c, m in zip(scores.float(), ce.detach().float(), mask, strict=True):
        if m.sum() < 2:
            continue
        a, b = s[m].argsort().argsort().float(), (-c[m]).argsort().argsort().float()
        a, b = a - a.mean(), b - b.mean()
        denom = (a.norm() * b.norm()).item()
        if denom > 0:
            values.append((a @ b).item() / denom)
    return sum(values) / len(values) if values else None


class TeachingAssistant:
    """MetaNet (or, under no_inertia, the live target), its target and the selection rule."""

    def __init__(self, config: RunConfig, slots: list[str], use_network: bool, joint_steps: int):
        self.cfg, self.lr = config.mind, config.mind.meta_lr or config.train.lr
        self.lr_schedule, self.grad_accum = config.train.lr_schedule, config.train.grad_accum
        self.slots, self.use_network, self.joint_steps = slots, use_network, joint_steps
        self.embeddings: torch.Tensor | None = None  # [N, P, E]
        self.network: MetaNet | None = None
        self.averaged: AveragedModel | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.tracker: TargetTracker | None = None
        self.pending = 0  # micro-batches of MetaNet gradient not yet applied

    @property
    def needs_base_ce(self) -> bool:
        return self.cfg.meta_target == "excess"

    def setup(
        self,
        examples: list[Example],
        out_dir: Path,
        reporter: Reporter,
        device: torch.device,
        base_ce: torch.Tensor | None = None,
    ) -> None:
        """Embed every rationale (cached in out_dir) and build MetaNet and its optimizer."""
        self.tracker = TargetTracker(len(examples), len(self.slots), self.cfg)
        self.tracker.base = base_ce
        if not self.use_network:
            return
        m = self.cfg
        pairs = [
            (i, s, pair_text(ex.question.question, ex.rationales[p]))
            for i, ex in enumerate(examples)
            for s, p in enumerate(self.slots)
            if p in ex.rationales
        ]
        reporter.event("info", f"embedding {len(pairs)} rationales with {m.encoder}")
        vectors = embed_texts([t for _, _, t in pairs], m.encoder, out_dir / "embeddings.pt")
        self.embeddings = torch.zeros(len(examples), len(self.slots), vectors.shape[1])
        for (i, s, _), v in zip(pairs, vectors, strict=True):
            self.embeddings[i, s] = v
        self.build(vectors.shape[1], device)

    def build(self, embed_dim: int, device: torch.device) -> None:
        """MetaNet, its AdamW and its Polyak average, for embeddings of width `embed_dim`."""
        m = self.cfg
        self.network = MetaNet(
            embed_dim, len(self.slots), m.metanet_dim, m.metanet_heads, synergy=not m.no_synergy
        ).to(device)
        self.optimizer = torch.optim.AdamW(
            self.network.parameters(), lr=self.lr, weight_decay=m.meta_weight_decay
        )
        if m.metanet_polyak is not None:
            self.averaged = AveragedModel(
                self.network, multi_avg_fn=get_ema_multi_avg_fn(m.metanet_polyak)
            )

    def beta(self, joint_step: int) -> float:
        """beta, moved linearly to `beta_end` over the joint steps when that is set."""
        m = self.cfg
        if m.beta_end is None:
            return m.beta
        frac = min(joint_step / max(self.joint_steps, 1), 1.0)
        return m.beta + (m.beta_end - m.beta) * frac

    def weigh(
        self, index: list[int], ce: torch.Tensor, mask: torch.Tensor, joint_step: int | None
    ) -> tuple[Weights, torch.Tensor | None]:
        """Weights [Q, P] for the student and MetaNet's loss (None without MetaNet).

        `joint_step` is None in warm-up (uniform weights), else the student updates so far.
        """
        assert self.tracker is not None, "call setup() first"
        m = self.cfg
        target = self.tracker(index, ce, mask)
        if self.network is None:
            scores = losses.masked_log_softmax(-target / m.tau_meta, mask).exp().nan_to_num(0.0)
            return self._select(scores, mask, joint_step or 0), None
        assert self.embeddings is not None
        emb = self.embeddings[index].to(ce.device)
        live = self.network(emb, mask)
        meta = losses.meta_loss(live, target, mask, m.tau_meta)
        if self.averaged is None:
            scores = live.detach()
        else:
            with torch.no_grad():
                scores = self.averaged(emb, mask)
        if joint_step is None:
            uniform = losses.uniform_weights(mask)
            return Weights(scores=scores, alpha=uniform, selected=mask.clone()), meta
        return self._select(scores, mask, joint_step), meta

    def _select(self, scores: torch.Tensor, mask: torch.Tensor, joint_step: int) -> Weights:
        m = self.cfg
        selected = losses.select(
            scores, mask, self.beta(joint_step), m.select_on, m.tau_student, m.min_selected
        )
        alpha = losses.selection_weights(scores, selected, m.tau_student)
        return Weights(scores=scores, alpha=alpha, selected=selected)

    def learn(self, meta: torch.Tensor, joint: bool, lr_factor: float) -> None:
        """Accumulate MetaNet's gradient; step it (at the inertia lr) once enough gathered."""
        assert self.optimizer is not None and self.network is not None
        m = self.cfg
        need = self.grad_accum * (m.meta_accum_scale if joint else 1)
        (meta / need).backward()
        self.pending += 1
        if self.pending < need:
            return
        scale = m.meta_lr_scale * (lr_factor if m.meta_lr_schedule == "student" else 1.0)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr * (scale if joint else 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.pending = 0
        if self.averaged is not None:
            self.averaged.update_parameters(self.network)

    def state(self) -> dict[str, Any]:
        assert self.tracker is not None
        state: dict[str, Any] = {"tracker": self.tracker.state(), "pending": self.pending}
        if self.network is not None and self.optimizer is not None:
            state["metanet"] = self.network.state_dict()
            state["meta_optimizer"] = self.optimizer.state_dict()
        if self.averaged is not None:
            state["averaged"] = self.averaged.state_dict()
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        assert self.tracker is not None
        self.tracker.load_state(state["tracker"])
        self.pending = state["pending"]
        if self.network is not None and self.optimizer is not None:
            self.network.load_state_dict(state["metanet"])
            self.optimizer.load_state_dict(state["meta_optimizer"])
        if self.averaged is not None:
            self.averaged.load_state_dict(state["averaged"])
