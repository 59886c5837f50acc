from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Series(BaseModel):
    steps: list[int]
    values: list[float]


class WeightSeries(BaseModel):
    steps: list[int]
    score: list[float | None]
    weight: list[float | None]
    selected: list[float | None]
    present: list[float | None]


class EvaluationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    model: str
    benchmark: str
    kind: str
    answer_type: str | None
    n: int
    accuracy: float
    gain: float | None
    extractor_version: str
    created_at: datetime


class LatentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    model: str
    n_points: int
    n_clusters: int
    purity: float | None = Field(
        description="None when every probe point is a cluster of its own (then 1 by "
        "construction); `warning` says so."
    )
    nmi: float
    points: list[dict[str, Any]]
    warning: str | None = None


class CheckpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step: int
    path: str
    created_at: datetime


class ArtifactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    is_dir: bool
    size_bytes: int
    sha256: str
    created_at: datetime
