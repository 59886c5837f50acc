"""The worker's other jobs, teacher jobs and model downloads: alive while held, never stuck.

While a worker holds a job it touches the job's `heartbeat_at` every `heartbeat_s`
(`beating`). The reconciler's `recover` finds jobs whose worker stopped beating for
`lost_after_s` (killed, out of memory, machine gone; Celery's redelivered task skips a job
that is not `queued`): a `cancelling` job becomes `cancelled`; a running one is queued
again and its task re-sent while it has attempts left (a teacher job resumes from its
generation cache, a download from its partial files), else it fails with the reason.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.db import Base, utcnow
from app.queue import DOWNLOAD_MODEL, RUN_TEACHER_JOB, enqueue
from app.settings import Settings
from app.students.models import RegisteredModel
from app.teachers.models import TeacherJob
from worker.context import WorkerContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobKind:
    model: type[TeacherJob] | type[RegisteredModel]
    running: str  # the status of a job a worker holds
    task: str  # the Celery task that runs it


KINDS = (
    JobKind(TeacherJob, "running", RUN_TEACHER_JOB),
    JobKind(RegisteredModel, "downloading", DOWNLOAD_MODEL),
)


def claimed(row: TeacherJob | RegisteredModel) -> None:
    """Mark `row` as just taken by this worker (call inside the claiming transaction)."""
    row.heartbeat_at, row.attempts = utcnow(), row.attempts + 1


@contextmanager
def beating(ctx: WorkerContext, model: type[Base], row_id: str) -> Iterator[None]:
    """Touch the row's `heartbeat_at` every `heartbeat_s` in a thread while the body runs.
    A failed beat (database away) is logged and the next one tries again."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(ctx.settings.heartbeat_s):
            try:
                with ctx.sessionmaker.begin() as session:
                    touch = update(model).where(model.id == row_id).values(heartbeat_at=utcnow())
                    session.execute(touch)
            except Exception as exc:
                log.warning("heartbeat of %s %s failed: %s", model.__name__, row_id, exc)

    thread = threading.Thread(target=beat, name=f"heartbeat-{row_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def recover(session: Session, settings: Settings) -> dict[str, str]:
    """{job id: new status} for every job whose worker stopped beating; the caller commits
    (then the re-queued jobs' tasks go out)."""
    stale = utcnow() - timedelta(seconds=settings.lost_after_s)
    reason = f"its worker stopped: no heartbeat for {settings.lost_after_s:g}s"
    changed = {}
    for kind in KINDS:
        job = kind.model
        query = (
            select(job)
            .where(
                job.status.in_((kind.running, "cancelling")),
                or_(job.heartbeat_at.is_(None), job.heartbeat_at < stale),
            )
            .with_for_update(skip_locked=True)
        )
        for row in session.scalars(query):
            if row.status == "cancelling":
                row.status, row.finished_at = "cancelled", utcnow()
            elif row.attempts < settings.max_attempts:
                row.status, row.heartbeat_at = "queued", None
                enqueue(session, kind.task, row.id)
            else:
                row.status, row.finished_at = "failed", utcnow()
                row.error = f"{reason}, {row.attempts} times"
            changed[row.id] = row.status
    return changed
