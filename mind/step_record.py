"""One optimizer step's record, as the trainer logs it and the studio stores and charts it.

A `metrics.jsonl` line is `as_dict()` of one record: `step`, `phase`, `epoch`, every scalar
(`loss`, `sft_loss`, `cons_loss`, `meta_loss`, `lr`, `tokens`, `tokens_total`,
`tokens_per_s`, and whatever the trainer adds) and `perspectives` {id: stats}. The
database stores the scalars as named points and the stats as one row per perspective;
charts read the records back, so no reader reshapes dicts of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

LOSSES = ("loss", "sft_loss", "cons_loss", "meta_loss")
LABELS = ("step", "phase", "epoch", "perspectives")  # the keys that are not scalars


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
            int(record["step"]), record.get("phase"), record.get("epoch"), scalars, perspectives
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "phase": self.phase,
            "epoch": self.epoch,
            **self.scalars,
            "perspectives": {pid: asdict(s) for pid, s in self.perspectives.items()},
        }
