"""One optimizer step's record, as the trainer logs it and the studio stores and charts it.

The trainer builds one per optimizer step (`mind.trainer.Trainer.optimizer_step`) and
reports `as_dict()` of it: a `metrics.jsonl` line holds `step`, `phase`, `epoch`, every
scalar (`LOSSES`, `lr`, `tokens` presented, `tokens_trained` (the ones that received
gradient), their running totals `tokens_total` and `tokens_trained_total`, `tokens_per_s`,
and the `CURRICULUM` measures), `probe_ce` {perspective: CE on the fixed probe questions}
(empty on steps without a probe) and `perspectives` {id: stats}. The database stores the
scalars as named points, the probe CE as points named `probe_ce:<id>` and the stats as one
row per perspective; charts read the records back, so no reader reshapes dicts of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

LOSSES = ("loss", "sft_loss", "cons_loss", "meta_loss")
# How MetaNet selects, per step: mean size of the selected set per question, mean entropy
# (nats) of the weights, mean per-question Spearman of the scores with -CE (None if no row
# has two perspectives).
CURRICULUM = ("selected_size", "selection_entropy", "score_loss_rank_corr")
LABELS = ("step", "phase", "epoch", "perspectives", "probe_ce")  # the keys that are not scalars
PROBE_PREFIX = "probe_ce:"  # a perspective's probe CE as a named scalar series


@dataclass(frozen=True)
class PerspectiveStats:
    """Means over the step's questions that have the perspective (`present` of them).

    `score`: MetaNet's score s_k; `weight`: the weight alpha_k in the loss; `selected`:
    the fraction of those questions whose selected set holds it.
    """

    score: float | None = None
    weight: float | None = None
    selected: float | None = None
    present: int | None = None

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> PerspectiveStats:
        return cls(**{f.name: values.get(f.name) for f in fields(cls)})


@dataclass(frozen=True)
class StepRecord:
    step: int
    phase: str | None = None  # "warmup" | "joint"
    epoch: int | None = None
    scalars: dict[str, float | None] = field(default_factory=dict)
    perspectives: dict[str, PerspectiveStats] = field(default_factory=dict)
    probe_ce: dict[str, float] = field(default_factory=dict)

    def get(self, name: str) -> float | None:
        """A scalar by name; None if this step did not log it (e.g. meta_loss in warm-up)."""
        return self.scalars.get(name)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> StepRecord:
        """From a `metrics.jsonl` line or the trainer's dict; non-numeric extras are dropped."""
        scalars = {
            name: value
            for name, value in record.items()
            if name not in LABELS
            and (value is None or (isinstance(value, int | float) and not isinstance(value, bool)))
        }
        perspectives = {
            pid: PerspectiveStats.from_dict(values)
            for pid, values in (record.get("perspectives") or {}).items()
        }
        return cls(
            int(record["step"]),
            record.get("phase"),
            record.get("epoch"),
            scalars,
            perspectives,
            dict(record.get("probe_ce") or {}),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "phase": self.phase,
            "epoch": self.epoch,
            **self.scalars,
            "perspectives": {pid: asdict(s) for pid, s in self.perspectives.items()},
            "probe_ce": dict(self.probe_ce),
        }
