"""Stage names of a run's progress, and a reporter view that renames one stage.

The pipeline evaluates and analyses two students (base and trained) with the same code; a
`StageAs` reporter makes each call report under its own stage, so progress always says
which part of the run it measures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mind.reporter import Reporter

GENERATING = "generating"
TRAINING = "training"
EVALUATING_BASE = "evaluating_base"
EVALUATING_TRAINED = "evaluating_trained"
ANALYZING = "analyzing"
STAGES = (GENERATING, TRAINING, EVALUATING_BASE, EVALUATING_TRAINED, ANALYZING)


class StageAs:
    """`reporter`, with every progress report filed under `stage`."""

    def __init__(self, reporter: Reporter, stage: str):
        self.reporter, self.stage = reporter, stage

    def progress(self, stage: str, fraction: float) -> None:
        self.reporter.progress(self.stage, fraction)

    def event(self, kind: str, message: str, **data: Any) -> None:
        self.reporter.event(kind, message, **data)

    def log_step(self, record: dict[str, Any]) -> None:
        self.reporter.log_step(record)

    def artifact(self, name: str, path: Path) -> None:
        self.reporter.artifact(name, path)

    def result(self, kind: str, data: dict[str, Any]) -> None:
        self.reporter.result(kind, data)

    def should_stop(self) -> bool:
        return self.reporter.should_stop()
