"""A study and the runs it is made of; its status is read from those runs (see service)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id, utcnow


class StudyStatus(StrEnum):
    """Read from the study's runs (`service.status`); never stored."""

    RUNNING = "running"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    FAILED = "failed"
    SUCCEEDED = "succeeded"


class Study(Base):
    __tablename__ = "studies"
    __table_args__ = (Index("ix_studies_created_at_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, doc="Frozen: every cell's label filled.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(default=None)


class StudyRun(Base):
    """One cell of one budget. The base student's run, and a run whose token budget came out
    equal to its step budget, serve several cells (one row each)."""

    __tablename__ = "study_runs"

    study_id: Mapped[str] = mapped_column(
        ForeignKey("studies.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(100), primary_key=True)
    seed: Mapped[int] = mapped_column(primary_key=True)
    budget: Mapped[str] = mapped_column(String(8), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
