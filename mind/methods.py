"""What each training method trains on and how it weights it (method spec section 6).

A method is a row of the spec's table: which slots (perspectives, or the two tasks of
distilling step-by-step) each question contributes, how the per-slot losses are weighted,
and whether the consistency loss applies.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mind import losses
from mind.config import MindConfig, RunConfig
from mind.curation import Example


@dataclass(frozen=True)
class Weights:
    """Per-slot weights of one micro-batch, all [Q, P] and detached."""

    scores: torch.Tensor
    alpha: torch.Tensor
    selected: torch.Tensor


@dataclass(frozen=True)
class MethodSpec:
    uses_metanet: bool
    consistency: bool


# Which rationales each method sees is decided by the data (training_data.py) and the slots
# (slot_names); this table holds what differs in the step itself.
METHODS: dict[str, MethodSpec] = {
    "sft": MethodSpec(uses_metanet=False, consistency=False),
    "sbs": MethodSpec(uses_metanet=False, consistency=False),
    "uniform": MethodSpec(uses_metanet=False, consistency=False),
    "mcc": MethodSpec(uses_metanet=False, consistency=True),
    "mind": MethodSpec(uses_metanet=True, consistency=True),
    "specialist": MethodSpec(uses_metanet=False, consistency=False),
}


def spec_for(config: RunConfig) -> MethodSpec:
    """The method's row, with the ablation switches applied to `mind`."""
    if config.method != "mind":
        return METHODS[config.method]
    m = config.mind
    return MethodSpec(
        uses_metanet=not m.no_inertia,
        consistency=not m.no_consistency and m.lambda_cons > 0,
    )


def slot_names(config: RunConfig, perspectives: list[str]) -> list[str]:
    """The slots of the [Q, P] matrices: perspectives, or the two sbs tasks."""
    if config.method == "sbs":
        return ["task:answer", "task:rationale"]
    if config.method == "specialist":
        return [config.train.specialist_perspective or ""]
    return perspectives


def single_rationale(example: Example, preferred: str | None) -> Example:
    """sft/sbs train on one rationale: the preferred perspective, else the first one kept."""
    persp = preferred if preferred in example.rationales else next(iter(example.rationales))
    return Example(
        example.question,
        {persp: example.rationales[persp]},
        {persp: example.teachers.get(persp, "")},
    )


def fixed_weights(method: str, mask: torch.Tensor) -> Weights:
    """Weights of the methods without MetaNet: 0.5 per task for sbs, else 1/K (1 for K=1)."""
    alpha = 0.5 * mask.float() if method == "sbs" else losses.uniform_weights(mask)
    return Weights(scores=alpha, alpha=alpha, selected=mask.clone())


def current_loss_weights(student_ce: torch.Tensor, mask: torch.Tensor, cfg: MindConfig) -> Weights:
    """The no_inertia ablation: weights from this step's losses, softmax(-L/tau), no MetaNet."""
    scores = losses.masked_log_softmax(-student_ce.detach() / cfg.tau_meta, mask).exp()
    scores = scores.nan_to_num(0.0)
    selected = losses.select(scores, mask, cfg.beta)
    alpha = losses.masked_log_softmax(-student_ce.detach() / cfg.tau_meta, selected).exp()
    return Weights(scores=scores, alpha=alpha.nan_to_num(0.0), selected=selected)


def metanet_weights(scores: torch.Tensor, mask: torch.Tensor, cfg: MindConfig) -> Weights:
    """Selection by the beta-threshold rule, then alpha = softmax over I of s/tau_student."""
    selected = losses.select(scores.detach(), mask, cfg.beta)
    alpha = losses.selection_weights(scores, selected, cfg.tau_student)
    return Weights(scores=scores.detach(), alpha=alpha, selected=selected)


def warmup_weights(scores: torch.Tensor, mask: torch.Tensor) -> Weights:
    """During MIND warm-up the weights are uniform (the student is not updated anyway)."""
    return Weights(
        scores=scores.detach(), alpha=losses.uniform_weights(mask), selected=mask.clone()
    )
