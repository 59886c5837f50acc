"""A queued run's place in its queue: runs are taken in the order they were queued.

Places count within the run's own Celery queue (`Run.queue`, by device class and size,
`app.workers.service`): a run waiting for a 4-GPU worker is not behind one-device runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.runs.models import Run
from app.runs.status import RunStatus


def queue_places(session: Session, runs: Sequence[Run]) -> dict[str, int]:
    """Each queued run's place (1 = the next a worker of its queue takes), by run id, in one
    query however many runs a page lists; runs not queued are left out."""
    ids = [r.id for r in runs if r.status == RunStatus.QUEUED and r.queued_at is not None]
    if not ids:
        return {}
    order = func.row_number().over(partition_by=Run.queue, order_by=(Run.queued_at, Run.id))
    ranked = (
        select(Run.id, order.label("place"))
        .where(Run.status == RunStatus.QUEUED, Run.queued_at.is_not(None))
        .subquery()
    )
    found = session.execute(select(ranked.c.id, ranked.c.place).where(ranked.c.id.in_(ids)))
    return {run_id: int(place) for run_id, place in found}


def queue_place(session: Session, run: Run) -> int | None:
    """1 for the next run a worker of its queue takes; None unless the run is queued."""
    return queue_places(session, [run]).get(run.id)
