"""A queued run's place in its queue: runs are taken in the order they were queued.

Places count within the run's own Celery queue (`Run.queue`, by device class and size,
`app.workers.service`): a run waiting for a 4-GPU worker is not behind one-device runs.
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.runs.models import Run
from app.runs.status import RunStatus


def queue_place(session: Session, run: Run) -> int | None:
    """1 for the next run a worker of its queue takes; None unless the run is queued."""
    if run.status != RunStatus.QUEUED or run.queued_at is None:
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(Run)
        .where(
            Run.status == RunStatus.QUEUED,
            Run.queue.is_not_distinct_from(run.queue),
            or_(
                Run.queued_at < run.queued_at,
                and_(Run.queued_at == run.queued_at, Run.id < run.id),
            ),
        )
    )
    return (ahead or 0) + 1
