"""Equal trained-token budgets: how many optimizer steps give a method a token budget.

A trained token is one that received gradient: outside MIND's warm-up (where only MetaNet
learns) and in a rationale of weight > 0. A method's rate is measured on a run of it (its
trained tokens per joint step), so the plan holds for MIND's selection too.
"""

from __future__ import annotations

import math

from mind.config import RunConfig
from mind.methods import warmup_steps


def steps_for_tokens(config: RunConfig, budget: float, per_joint_step: float) -> int | None:
    """Smallest `train.max_steps` whose joint steps reach `budget` trained tokens at
    `per_joint_step` each; None when the rate is 0 (the method never trains a token)."""
    if per_joint_step <= 0:
        return None
    joint = max(1, math.ceil(budget / per_joint_step))
    steps = joint
    while True:
        train = config.train.model_copy(update={"max_steps": steps})
        if steps - warmup_steps(config.model_copy(update={"train": train})) >= joint:
            return steps
        steps += 1
