from __future__ import annotations

from app.errors import Conflict, NotFound


class NoCheckpoint(Conflict):
    def __init__(self, run_id: str):
        super().__init__(f"run {run_id!r} has no checkpoint to answer with yet", "run_id")


class CheckpointNotFound(NotFound):
    def __init__(self, step: int):
        super().__init__(f"no checkpoint at step {step}", "step")
