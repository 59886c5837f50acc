from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["questions", "rationales"]


class DatasetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: Kind
    source_format: str
    filename: str
    size_bytes: int
    row_count: int
    content_hash: str
    answer_type: str | None
    report: dict[str, Any]
    owner_id: str
    created_at: datetime


class DatasetDetail(DatasetOut):
    preview: list[dict[str, Any]]


class DatasetPage(BaseModel):
    items: list[DatasetOut]
    total: int


class DatasetPreview(BaseModel):
    format: str
    columns: list[str] = Field(description="Fields of the file's first records, in order.")
    mapping: dict[str, Any] | None = Field(description="Given, remembered or guessed.")
    rows: list[dict[str, Any]] = Field(description="The first records as they would be stored.")
    report: dict[str, Any]
