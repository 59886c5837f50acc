"""The run row is the source of truth for a run's lifecycle; see docs/service.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, new_id, utcnow
from app.runs.status import RunStatus

NAME_MAX = 200


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_created_at_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(16), index=True, default=RunStatus.VALIDATING)
    stage: Mapped[str | None] = mapped_column(String(32), default=None)
    progress: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    method: Mapped[str] = mapped_column(String(16), index=True)
    student: Mapped[str] = mapped_column(String(500), index=True)
    teacher: Mapped[str | None] = mapped_column(String(500), default=None)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, doc="Frozen: every default filled in.")
    data_hashes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Execution bookkeeping: which attempt the queued task is for, and who runs it.
    attempt: Mapped[int] = mapped_column(default=1)
    resume: Mapped[bool] = mapped_column(default=False)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    pid: Mapped[int | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(default=None)
    # Outbox: set once the queued attempt's task reached the broker; null means the
    # reconciler must (re)send it.
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    # The Celery queue its task went to (app.workers.service.route); null: the shared one.
    queue: Mapped[str | None] = mapped_column(String(200), default=None)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    # Progress bookkeeping, stamped by app.progress.timing on every status change.
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    attempt_started_at: Mapped[datetime | None] = mapped_column(default=None)
    active_s: Mapped[float] = mapped_column(default=0.0, doc="Seconds spent running.")
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def directory(self) -> str:
        """The run's folder, relative to the storage directory."""
        return f"runs/{self.id}"


class RunEvent(Base):
    __tablename__ = "run_events"
    __table_args__ = (Index("ix_run_events_run_id_id", "run_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
