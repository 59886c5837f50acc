"""What a worker process holds: its settings, database and the Celery app to re-queue on.

Built once when the worker starts (`mind-studio worker`), never at import, and hung on
the Celery app as `app.studio`, where bound tasks find it.
"""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery
from sqlalchemy.orm import sessionmaker

from app import hooks
from app.db import make_engine, make_sessionmaker
from app.settings import Settings
from app.workers import service as routing
from app.workers.service import Devices


@dataclass
class WorkerContext:
    settings: Settings
    sessionmaker: sessionmaker
    celery: Celery
    devices: Devices | None = None  # what this worker advertises (None: not a worker)

    @classmethod
    def build(cls, settings: Settings, celery: Celery, devices: Devices | None = None):
        factory = hooks.install(make_sessionmaker(make_engine(settings.database_url)))
        return cls(settings, routing.install(factory, settings), celery, devices)
