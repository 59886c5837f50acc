"""Celery tasks. Thin: load by id, hand over to the supervisor; the run row is the truth."""

from __future__ import annotations

from celery import Task, shared_task

from app.queue import DOWNLOAD_MODEL, EXECUTE_RUN, RUN_TEACHER_JOB
from worker import downloads, supervisor, teacher_jobs


@shared_task(bind=True, name=EXECUTE_RUN, acks_late=True, reject_on_worker_lost=True)
def execute_run(self: Task, run_id: str, attempt: int) -> str:
    """Run one attempt of a run to its end. Idempotent: a redelivered message for an
    attempt that already started, finished or was superseded does nothing."""
    return supervisor.execute(self.app.studio, run_id, attempt)


@shared_task(bind=True, name=DOWNLOAD_MODEL, acks_late=True, reject_on_worker_lost=True)
def download_model(self: Task, model_id: str) -> str:
    """Download an added Hugging Face model into the worker's hub cache."""
    return downloads.download(self.app.studio, model_id)


@shared_task(bind=True, name=RUN_TEACHER_JOB, acks_late=True, reject_on_worker_lost=True)
def run_teacher_job(self: Task, job_id: str) -> str:
    """Generate a teacher job's rationales and store them as a dataset."""
    return teacher_jobs.execute(self.app.studio, job_id)
