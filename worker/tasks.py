"""Celery tasks. Thin: load by id, hand over to the supervisor; the run row is the truth."""

from __future__ import annotations

from celery import Task, shared_task

from app.queue import EXECUTE_RUN
from worker import supervisor


@shared_task(bind=True, name=EXECUTE_RUN, acks_late=True, reject_on_worker_lost=True)
def execute_run(self: Task, run_id: str, attempt: int) -> str:
    """Run one attempt of a run to its end. Idempotent: a redelivered message for an
    attempt that already started, finished or was superseded does nothing."""
    return supervisor.execute(self.app.studio, run_id, attempt)
