from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.runs.status import RunStatus
from mind.config import RunConfig


class RunFilters(BaseModel):
    status: RunStatus | None = None
    owner: str | None = Field(None, description="Owner's user id.")
    method: str | None = None
    student: str | None = None
    dataset: str | None = Field(None, description="Runs that read this dataset id.")
    q: str | None = Field(None, max_length=200, description="Name or id contains this text.")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_no_filter(cls, value: Any) -> Any:
        """A form's empty choice (`status=`) means no filter, not a bad value."""
        return None if value == "" else value


class RunCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    config: RunConfig = Field(
        description="A `mind` run config: every field, default and limit below. Datasets are "
        "named by id (`data.questions`, `data.rationales`, `eval.benchmarks[].dataset`), "
        "never by server path (see docs/service.md)."
    )


class RunPreflight(BaseModel):
    config: dict[str, Any] = Field(description="A run config, as for `POST /runs`.")


class RunClone(BaseModel):
    name: str | None = Field(None, max_length=200)
    overrides: dict[str, Any] = Field(default_factory=dict, description="Deep-merged.")


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    status: str
    stage: str | None
    progress: float
    error: str | None
    method: str
    student: str
    teacher: str | None
    owner_id: str
    parent_id: str | None
    attempt: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    queue_position: int | None = Field(None, description="While queued: 1 = next to start.")


class RunDetail(RunOut):
    elapsed_s: float = Field(0.0, description="Seconds spent running, queueing excluded.")
    config: dict[str, Any]
    data_hashes: dict[str, str]
    summary: dict[str, Any] | None
    queue: str | None = Field(
        None, description="Celery queue of its task: the shared one, or `Q.<class>.<devices>`."
    )
    worker: str | None
    pid: int | None

    heartbeat_at: datetime | None


class RunPage(BaseModel):
    items: list[RunOut]
    total: int


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    kind: str
    message: str
    data: dict[str, Any]
