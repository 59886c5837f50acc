from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

EventName = Literal["run.succeeded", "run.failed", "run.cancelled", "study.finished"]


class WebhookCreate(BaseModel):
    url: AnyHttpUrl = Field(description="Where events are POSTed (http or https).")
    events: list[EventName] = Field(min_length=1, description="Events to send.")


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class NewWebhook(WebhookOut):
    secret: str = Field(description="Signing secret (`whsec_…`). Shown once: keep it.")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    message_id: str
    event: str
    payload: dict[str, Any]
    status: str
    attempts: int
    status_code: int | None
    error: str | None
    created_at: datetime
    delivered_at: datetime | None
