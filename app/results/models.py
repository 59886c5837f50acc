"""Result tables, written by the worker's reporter and read by the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, utcnow


def _run_fk() -> Mapped[str]:
    return mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))


class MetricPoint(Base):
    """One scalar of one optimizer step (loss, sft_loss, lr, tokens_per_s, ...)."""

    __tablename__ = "metric_points"
    __table_args__ = (Index("ix_metric_points_run_name_step", "run_id", "name", "step"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    step: Mapped[int]
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float]


class PerspectiveWeight(Base):
    """MetaNet's view of one perspective at one step: score, weight, selected fraction."""

    __tablename__ = "perspective_weights"
    __table_args__ = (Index("ix_perspective_weights_run_step", "run_id", "step"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    step: Mapped[int]
    perspective: Mapped[str] = mapped_column(String(200))
    score: Mapped[float | None]
    weight: Mapped[float | None]
    selected: Mapped[float | None]
    present: Mapped[float | None]


class EvaluationResult(Base):
    """One benchmark for the trained (`model="trained"`) or the base student, as scored by
    one version of the answer extractor; a rescore adds rows, the newest is current."""

    __tablename__ = "evaluation_results"
    __table_args__ = (UniqueConstraint("run_id", "model", "benchmark", "extractor_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    model: Mapped[str] = mapped_column(String(16))
    benchmark: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    answer_type: Mapped[str | None] = mapped_column(String(16))
    n: Mapped[int]
    accuracy: Mapped[float]
    gain: Mapped[float | None] = mapped_column(doc="Trained minus base accuracy.")
    predictions_path: Mapped[str | None] = mapped_column(String(500), doc="Per-example JSONL.")
    extractor_version: Mapped[str] = mapped_column(String(16), server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class LatentAnalysis(Base):
    __tablename__ = "latent_analyses"
    __table_args__ = (UniqueConstraint("run_id", "model"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    model: Mapped[str] = mapped_column(String(16))
    n_points: Mapped[int]
    n_clusters: Mapped[int]
    purity: Mapped[float | None] = mapped_column(doc="None: every point its own cluster.")
    nmi: Mapped[float]
    points: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    warning: Mapped[str | None] = mapped_column(Text, doc="Why a metric does not apply.")


class Checkpoint(Base):
    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("run_id", "step"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    step: Mapped[int]
    path: Mapped[str] = mapped_column(String(500), doc="Relative to the storage directory.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Artifact(Base):
    """A downloadable output (adapter folder, report page) with its size and SHA-256."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("run_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    name: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(500), doc="Relative to the storage directory.")
    is_dir: Mapped[bool] = mapped_column(default=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
