from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,100}$"


class SecretPut(BaseModel):
    value: str = Field(min_length=1, max_length=10_000, description="Write-only.")


class SecretOut(BaseModel):
    """A secret as the API shows it: never its value."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    owner_id: str
    created_at: datetime
    updated_at: datetime
