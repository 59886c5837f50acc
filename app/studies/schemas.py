from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mind.config import Method


class MethodCell(BaseModel):
    """A method with its config overrides: a preset is `{"mind": {"preset": "paper"}}`."""

    model_config = ConfigDict(extra="forbid")

    method: Method
    label: str | None = Field(
        None, min_length=1, max_length=100, description="Default: the method's name."
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Deep-merged into the shared config; only `mind.*`, "
        "`train.sft_perspective` and `train.specialist_perspective` may change.",
    )


class StudySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any] = Field(
        description="The run config every cell shares (student, data, perspectives, train, "
        "eval with its benchmarks, analysis); datasets by id, as for runs."
    )
    methods: list[MethodCell] = Field(min_length=1, max_length=12)
    seeds: list[int] = Field(min_length=1, max_length=10, description="Training seeds.")
    token_budget_reference: str | None = Field(
        None,
        description="Label whose trained tokens (at the step budget) every method gets in "
        "the token budget. Default: the first method that trains.",
    )


class StudyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    spec: StudySpec


class StudyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    owner_id: str
    status: str
    progress: float = Field(
        description=(
            "Share of the planned cells done, in [0, 1]: a cell counts whole once its run has "
            "succeeded; a run still going counts for at most half a cell (its progress is its "
            "current stage's), so 1 means every cell has finished."
        )
    )
    created_at: datetime


class CellOut(BaseModel):
    label: str
    method: str
    seed: int | None = Field(description="None for the base student (it does not train).")
    budget: str
    run_id: str | None = Field(description="None while the cell waits for earlier ones.")
    status: str
    stage: str | None
    progress: float
    max_steps: int | None
    tokens_trained: int | None = Field(description="Tokens that received gradient.")


class StudyDetail(StudyOut):
    spec: dict[str, Any]
    cells: list[CellOut]


class StudyPage(BaseModel):
    items: list[StudyOut]
    total: int
