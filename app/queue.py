"""The Celery app both sides share, and enqueue-after-commit (a transactional outbox).

Services never send tasks: they `enqueue` on the session, and `unit_of_work` sends the
buffered tasks only once the transaction has committed, so a worker never looks for a run
row that is not there yet (and a rolled-back request sends nothing). A task that cannot be
sent (broker down) does not fail the committed request: its `sent` statement (which marks
the row dispatched) is simply not run, and the reconciler sends it again later.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery
from sqlalchemy import Executable
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings

EXECUTE_RUN = "studio.execute_run"
DOWNLOAD_MODEL = "studio.download_model"
RUN_TEACHER_JOB = "studio.run_teacher_job"
_PENDING = "pending_tasks"
log = logging.getLogger(__name__)


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
        # A request must not hang on a dead broker: fail fast, the outbox sends it later.
        broker_connection_timeout=3,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
    )
    if settings.broker_url.startswith(("redis", "rediss")):
        # Redis re-delivers an unacknowledged task after this long: it must exceed the
        # longest run, or a healthy run would start a second time.
        celery.conf.broker_transport_options = {"visibility_timeout": settings.visibility_timeout_s}
    return celery


def enqueue(
    session: Session,
    task: str,
    *args: str | int | bool,
    sent: Executable | None = None,
    queue: str | None = None,
) -> None:
    """Send `task(*args)` to `queue` (default: the shared one) once this session's
    transaction commits; ids and JSON only. `sent` is executed in its own transaction once
    the broker has taken the task."""
    session.info.setdefault(_PENDING, []).append((task, args, sent, queue))


def send_pending(session: Session, celery: Celery, factory: sessionmaker) -> None:
    """Send what the committed transaction enqueued; a broker error is logged, not raised
    (the data is committed, and the outbox pass of the reconciler retries)."""
    done = []
    for task, args, sent, queue in session.info.pop(_PENDING, []):
        try:
            celery.send_task(task, args=list(args), **({"queue": queue} if queue else {}))

        except Exception as exc:
            log.warning("broker refused %s%s; the reconciler will resend: %s", task, args, exc)
            continue
        if sent is not None:
            done.append(sent)
    if done:
        with factory.begin() as marks:
            for statement in done:
                marks.execute(statement)


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
        send_pending(session, celery, factory)
