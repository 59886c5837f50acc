"""The worker's Celery app: the shared queue settings plus this process's context."""

from __future__ import annotations

import socket

from celery import Celery
from celery.signals import worker_ready

from app.queue import make_celery
from app.settings import Settings
from worker.context import WorkerContext
from worker.reconciler import start_periodic


def create_worker_app(settings: Settings) -> Celery:
    celery = make_celery(settings)
    celery.studio = WorkerContext.build(settings, celery)
    import worker.tasks  # noqa: F401  (registers the tasks on this app)

    @worker_ready.connect(weak=False)
    def _reconcile(**_: object) -> None:
        start_periodic(celery.studio)

    return celery


def run_worker(settings: Settings, loglevel: str = "INFO") -> None:
    """One run at a time per worker process (one GPU each): solo pool, prefetch 1."""
    celery = create_worker_app(settings)
    celery.worker_main(
        [
            "worker",
            "--pool=solo",
            "--concurrency=1",
            f"--queues={settings.queue}",
            f"--hostname=mind@{socket.gethostname()}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
        ]
    )
