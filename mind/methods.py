"""The training methods, one row each (method spec section 6): the whole of what a method is.

A row says which rationales the method trains on, which slots its [Q, P] matrices have, how
the per-slot losses are weighted, whether it trains at all and whether the consistency loss
applies. MIND's curriculum variants are parameters of its row: `mind.preset` and the fields
it governs (`mind.config.MIND_PRESETS`), and the ablation switches applied in `spec_for`.
Adding a method is one row here and, if its weights are new, one rule in `fixed_weights` or
`mind.assistant`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from mind.config import RunConfig
from mind.curation import Example

if TYPE_CHECKING:  # the table is read by the web app's pre-flight, which must not load torch
    import torch

TrainsOn = Literal["nothing", "all_kept", "one_rationale", "one_perspective"]
Slots = Literal["perspectives", "sbs_tasks", "specialist"]
WeightRule = Literal["none", "uniform", "half_each", "metanet", "current_target"]


@dataclass(frozen=True)
class Weights:
    """Per-slot weights of one micro-batch, all [Q, P] and detached."""

    scores: torch.Tensor
    alpha: torch.Tensor
    selected: torch.Tensor


@dataclass(frozen=True)
class MethodSpec:
    """One method. `trains_on`: every kept rationale, one per question (sft/sbs: the
    preferred perspective, else the first kept), or one perspective (specialist)."""

    trains_on: TrainsOn
    slots: Slots
    weights: WeightRule
    consistency: bool

    @property
    def trains(self) -> bool:
        return self.trains_on != "nothing"

    @property
    def uses_metanet(self) -> bool:
        return self.weights == "metanet"

    @property
    def uses_assistant(self) -> bool:
        """MIND's weights, with MetaNet or (no_inertia) straight from the current target."""
        return self.weights in ("metanet", "current_target")


METHODS: dict[str, MethodSpec] = {
    "zero_shot": MethodSpec("nothing", "perspectives", "none", consistency=False),
    "sft": MethodSpec("one_rationale", "perspectives", "uniform", consistency=False),
    "sbs": MethodSpec("one_rationale", "sbs_tasks", "half_each", consistency=False),
    "uniform": MethodSpec("all_kept", "perspectives", "uniform", consistency=False),
    "mcc": MethodSpec("all_kept", "perspectives", "uniform", consistency=True),
    "mind": MethodSpec("all_kept", "perspectives", "metanet", consistency=True),
    "specialist": MethodSpec("one_perspective", "specialist", "uniform", consistency=False),
}
SBS_TASKS = ["task:answer", "task:rationale"]


def spec_for(config: RunConfig) -> MethodSpec:
    """The method's row, with the switches that change it applied (MIND's ablations)."""
    spec = METHODS[config.method]
    if not spec.uses_metanet:
        return spec
    m = config.mind
    return replace(
        spec,
        weights="current_target" if m.no_inertia else spec.weights,
        consistency=spec.consistency and not m.no_consistency and m.lambda_cons > 0,
    )


def warmup_steps(config: RunConfig) -> int:
    """MIND warm-up length: a fraction of all optimizer steps (0 without MetaNet). Steps
    up to it train MetaNet alone; records after it are the joint phase."""
    if not spec_for(config).uses_metanet:
        return 0
    return round(config.mind.warmup_fraction * config.train.max_steps)


def slot_names(config: RunConfig, perspectives: list[str]) -> list[str]:
    """The slots of the [Q, P] matrices: perspectives, the two sbs tasks, or one perspective."""
    slots = METHODS[config.method].slots
    if slots == "sbs_tasks":
        return list(SBS_TASKS)
    if slots == "specialist":
        return [config.train.specialist_perspective or ""]
    return perspectives


def single_rationale(example: Example, preferred: str | None) -> Example:
    """sft/sbs train on one rationale: the preferred perspective, else the first one kept."""
    persp = preferred if preferred in example.rationales else next(iter(example.rationales))
    return Example(
        example.question,
        {persp: example.rationales[persp]},
        {persp: example.teachers.get(persp, "")},
        example.programs & {persp},
    )


def fixed_weights(spec: MethodSpec, mask: torch.Tensor) -> Weights:
    """Weights of the methods without MetaNet: 0.5 per task (sbs), else 1/K (1 for K=1)."""
    from mind import losses

    alpha = 0.5 * mask.float() if spec.weights == "half_each" else losses.uniform_weights(mask)
    return Weights(scores=alpha, alpha=alpha, selected=mask.clone())
