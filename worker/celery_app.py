"""The worker's Celery app: the shared queue settings plus this process's context."""

from __future__ import annotations

import socket

from celery import Celery
from celery.signals import worker_ready

from app.queue import make_celery
from app.settings import Settings
from app.workers.service import queues_of
from worker import devices
from worker.context import WorkerContext
from worker.reconciler import start_periodic


def create_worker_app(settings: Settings) -> Celery:
    """The worker's app; it advertises its devices before it consumes anything."""
    celery = make_celery(settings)
    owned = devices.detect(settings)
    celery.studio = WorkerContext.build(settings, celery, owned)
    devices.advertise(celery.studio, owned)
    import worker.tasks  # noqa: F401  (registers the tasks on this app)

    @worker_ready.connect(weak=False)
    def _reconcile(**_: object) -> None:
        devices.keep_advertising(celery.studio, owned)
        start_periodic(celery.studio)

    return celery


def run_worker(settings: Settings, loglevel: str = "INFO") -> None:
    """One run at a time per worker process (its devices serve one run, under torchrun when
    it uses several): solo pool, prefetch 1; the shared queue and its class's run queues."""
    celery = create_worker_app(settings)
    owned = celery.studio.devices
    celery.worker_main(
        [
            "worker",
            "--pool=solo",
            "--concurrency=1",
            f"--queues={','.join(queues_of(settings.queue, owned))}",
            f"--hostname=mind@{socket.gethostname()}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
        ]
    )
