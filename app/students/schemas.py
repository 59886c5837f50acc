from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator


class ModelAdd(BaseModel):
    """Exactly one of `hf_id` (downloaded by a worker) or `path` (a local folder, admins only)."""

    hf_id: str | None = Field(None, max_length=200, description="e.g. Qwen/Qwen2.5-0.5B-Instruct")
    path: str | None = Field(
        None, max_length=500, description="A folder inside one of MIND_MODEL_ROOTS."
    )

    @model_validator(mode="after")
    def _one(self) -> ModelAdd:
        if (self.hf_id is None) == (self.path is None):
            raise ValueError("give exactly one of hf_id or path")
        return self


class RunRef(BaseModel):
    id: str
    name: str
    status: str


class ModelOut(BaseModel):
    name: str = Field(description="What a run config's `student` takes.")
    source: Literal["bundled", "cache", "hub", "local"]
    status: Literal["queued", "downloading", "ready", "failed"]
    registered_id: str | None = Field(None, description="Row id of an added model.")
    parameters: int | None = None
    dtype: str | None = None
    size_bytes: int | None = None
    chat_template: bool | None = None
    architecture: str | None = None
    progress: float = 1.0
    downloaded_bytes: int | None = None
    total_bytes: int | None = None
    error: str | None = None
    runs: int = Field(0, description="Runs that used this student.")
    recent_runs: list[RunRef] = Field(default_factory=list)
    created_at: datetime | None = None
