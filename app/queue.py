"""The Celery app both sides share, and enqueue-after-commit.

Services never send tasks: they `enqueue` on the session, and `unit_of_work` sends the
buffered tasks only once the transaction has committed, so a worker never looks for a run
row that is not there yet (and a rolled-back request sends nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings

EXECUTE_RUN = "studio.execute_run"
DOWNLOAD_MODEL = "studio.download_model"
RUN_TEACHER_JOB = "studio.run_teacher_job"
_PENDING = "pending_tasks"


def make_celery(settings: Settings, **kwargs: Any) -> Celery:
    """Settings for hours-long GPU jobs: see docs/service.md, "Worker"."""
    celery = Celery("mind-studio", broker=settings.broker_url, set_as_current=False, **kwargs)
    celery.conf.update(
        task_default_queue=settings.queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=1,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
    )
    if settings.broker_url.startswith(("redis", "rediss")):
        # Redis re-delivers an unacknowledged task after this long: it must exceed the
        # longest run, or a healthy run would start a second time.
        celery.conf.broker_transport_options = {"visibility_timeout": settings.visibility_timeout_s}
    return celery


def enqueue(session: Session, task: str, *args: str | int | bool) -> None:
    """Send `task(*args)` once this session's transaction commits; ids and JSON only."""
    session.info.setdefault(_PENDING, []).append((task, args))


def send_pending(session: Session, celery: Celery) -> None:
    for task, args in session.info.pop(_PENDING, []):
        celery.send_task(task, args=list(args))


@contextmanager
def unit_of_work(factory: sessionmaker, celery: Celery) -> Iterator[Session]:
    """One transaction: commit (then send its tasks) on success, roll back on error."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            session.info.pop(_PENDING, None)
            raise
        send_pending(session, celery)
