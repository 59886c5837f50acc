"""When a run was queued and how long it has really run, stamped on every status change.

`active_s` sums the attempts' running time only: time waiting in the queue (first or
after a resume) is not counted, so "elapsed" is what the run cost.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from app.db import as_utc, utcnow
from app.runs.models import Run
from app.runs.status import ACTIVE, IN_WORKER, RunStatus


def status_changes(session: Session) -> list[tuple[Run, str | None]]:
    """(run, previous status) for every run whose status the coming flush changes."""
    changed = []
    for obj in [*session.new, *session.dirty]:
        if not isinstance(obj, Run):
            continue
        history = inspect(obj).attrs.status.history
        if history.added:
            changed.append((obj, history.deleted[0] if history.deleted else None))
    return changed


def stamp(run: Run, previous: str | None) -> None:
    """Update the run's clock for a move from `previous` to `run.status`."""
    now = utcnow()
    if run.status == RunStatus.QUEUED:
        run.queued_at = now
    if run.status == RunStatus.RUNNING and previous != RunStatus.RUNNING:
        run.attempt_started_at = now
    if previous in IN_WORKER and run.status not in IN_WORKER and run.attempt_started_at:
        run.active_s = (run.active_s or 0.0) + (
            now - as_utc(run.attempt_started_at)
        ).total_seconds()
        run.attempt_started_at = None


def elapsed_s(run: Run) -> float:
    """Seconds spent running so far, the current attempt included. Runs finished before
    the studio kept this clock fall back to their first start to their end."""
    legacy = not run.active_s and run.attempt_started_at is None
    if legacy and run.started_at is not None and run.finished_at is not None:
        return (as_utc(run.finished_at) - as_utc(run.started_at)).total_seconds()
    running = 0.0
    if run.attempt_started_at is not None and run.status in ACTIVE:
        running = (utcnow() - as_utc(run.attempt_started_at)).total_seconds()
    return (run.active_s or 0.0) + running


def _before_flush(session: Session, *_: Any) -> None:
    for run, previous in status_changes(session):
        stamp(run, previous)


def install(factory: sessionmaker) -> None:
    event.listen(factory, "before_flush", _before_flush)
