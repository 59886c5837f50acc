from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id, utcnow


class Dataset(Base):
    """A validated file in the storage directory (always JSONL, whatever was uploaded)."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("kind", "content_hash"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    source_format: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(500))
    path: Mapped[str] = mapped_column(String(500), doc="Relative to the storage directory.")
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the stored JSONL.")
    answer_type: Mapped[str | None] = mapped_column(String(16), default=None)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RunDataset(Base):
    """Which datasets a run reads, by role; lets runs be filtered by dataset
    and keeps a used dataset from being deleted."""

    __tablename__ = "run_datasets"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(220), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
