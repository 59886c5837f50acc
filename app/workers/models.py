"""A worker's advert: what devices it owns and which queues it consumes (docs/service.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Worker(Base):
    """One worker process, upserted at its start and every `advertise_every_s` after.

    Routing believes an advert while `last_seen` is younger than `worker_stale_s`.
    """

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True, doc="host:pid")
    device_class: Mapped[str] = mapped_column(String(64), index=True, doc="cpu, cuda-h200, ...")
    devices: Mapped[int] = mapped_column(doc="Devices one run may use on it (torchrun ranks).")
    queues: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)
