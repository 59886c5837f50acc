from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TeacherJobCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    questions: str = Field(description="Questions dataset id.")
    perspectives: list[str] | None = Field(None, description="Default: the built-in four.")
    custom_perspectives: list[dict[str, Any]] = Field(default_factory=list)
    max_questions: int | None = Field(None, gt=0, description="The first N questions only.")
    teacher: dict[str, Any] = Field(description="A `teacher` config section (mind.config).")
    seed: int = 0


class TeacherTest(BaseModel):
    teacher: dict[str, Any] = Field(description="A `teacher` config section (mind.config).")


class TeacherJobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    owner_id: str
    status: str
    progress: float
    questions_id: str
    rationales_id: str | None
    config: dict[str, Any]
    report: dict[str, Any] | None = Field(
        None, description="Per perspective: requested, generated, accepted, acceptance_rate."
    )
    samples: dict[str, Any] | None = Field(None, description="Accepted and rejected examples.")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
