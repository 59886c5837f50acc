"""The per-step record: what the trainer reports for each optimiser step.

One typed structure from `Trainer` to the `Reporter` (metrics.jsonl, the studio's
database, the charts). Field names are stable: consumers read them by name.
"""

from __future__ import annotations

from typing import Literal, TypedDict


class PerspectiveStep(TypedDict):
    """One slot's means over the step's questions in which it is present."""

    score: float  # the score that set the weights (MetaNet's, or the fixed weight)
    weight: float  # alpha
    selected: float  # fraction of those questions with the slot in the selected set
    present: int  # questions in the step that have this slot


class StepRecord(TypedDict):
    step: int
    phase: Literal["warmup", "joint"]
    epoch: int
    loss: float
    sft_loss: float
    cons_loss: float | None
    meta_loss: float | None
    lr: float
    tokens: int  # presented: every token of every sequence the step ran
    tokens_trained: int  # of those, the ones that received gradient (alpha > 0, joint phase)
    tokens_total: int
    tokens_trained_total: int
    tokens_per_s: float
    selected_size: float  # mean size of the selected set per question
    selection_entropy: float  # mean entropy (nats) of the weights per question
    score_loss_rank_corr: float | None  # mean Spearman of scores vs -CE per question
    probe_ce: dict[str, float] | None  # CE per perspective on the fixed probe questions
    perspectives: dict[str, PerspectiveStep]
