"""Close runs whose worker is gone, so no run is ever stuck in `running`, and send the
tasks the web could not, so no committed run waits in `queued` for a task that never came.

A run is lost when its supervisor has not touched `heartbeat_at` for `lost_after_s`.
A lost run is re-queued while it has attempts left (resuming from its last checkpoint if
it has one, else from the start), otherwise failed with the reason; a lost `cancelling`
run is simply cancelled. A queued run not marked dispatched `dispatch_after_s` after it
was queued has its task sent again (the task is idempotent, so a duplicate is harmless).
Both go through `app.runs.service.dispatch`, so a re-queued run is routed to a queue of
workers that own its devices exactly as a submitted one is (`app.workers.service`).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.queue import unit_of_work
from app.runs import service as runs
from app.runs.models import Run
from app.runs.status import IN_WORKER, RunStatus, move
from app.settings import Settings
from worker import jobs
from worker.context import WorkerContext

log = logging.getLogger(__name__)


def redispatch(session: Session, settings: Settings) -> list[str]:
    """Ids of queued runs whose task never reached the broker; their tasks go out after
    the caller commits."""
    stale = utcnow() - timedelta(seconds=settings.dispatch_after_s)
    query = (
        select(Run)
        .where(Run.status == RunStatus.QUEUED, Run.dispatched_at.is_(None), Run.created_at < stale)
        .with_for_update(skip_locked=True)
    )
    sent = []
    for run in session.scalars(query):
        runs.add_event(session, run, "warning", "task re-sent: the broker never had it")
        runs.dispatch(session, run)
        sent.append(run.id)
    return sent


def reconcile(session: Session, settings: Settings) -> dict[str, str]:
    """{run id: new status} for every lost run; the caller commits (then tasks go out)."""
    stale = utcnow() - timedelta(seconds=settings.lost_after_s)
    query = (
        select(Run)
        .where(
            Run.status.in_(IN_WORKER),
            or_(Run.heartbeat_at.is_(None), Run.heartbeat_at < stale),
        )
        .with_for_update(skip_locked=True)
    )
    changed = {}
    for run in session.scalars(query):
        reason = f"worker {run.worker} lost: no heartbeat for {settings.lost_after_s:g}s"
        runs.add_event(session, run, "warning", reason)
        if run.status == RunStatus.CANCELLING:
            move(run, RunStatus.CANCELLED)
            run.finished_at = utcnow()
        elif run.attempt < settings.max_attempts:
            resume = runs.has_checkpoint(settings, run)
            run.attempt, run.resume, run.pid = run.attempt + 1, resume, None
            runs.queue_run(session, run)
        else:
            move(run, RunStatus.FAILED)
            run.finished_at, run.pid = utcnow(), None
            run.error = reason + (
                "" if runs.has_checkpoint(settings, run) else " (no checkpoint to resume from)"
            )
        changed[run.id] = run.status
    return changed


def reconcile_once(ctx: WorkerContext) -> dict[str, str]:
    """One pass: undispatched queued runs (mapped to "queued"), then lost runs (whose new
    tasks this same commit sends, so the first step must not see them), then teacher jobs
    and downloads whose worker stopped (`worker.jobs.recover`)."""
    with unit_of_work(ctx.sessionmaker, ctx.celery) as session:
        resent = redispatch(session, ctx.settings)
        changed = reconcile(session, ctx.settings)
        recovered = jobs.recover(session, ctx.settings)
    if changed:
        log.warning("reconciled lost runs: %s", changed)
    if recovered:
        log.warning("recovered teacher jobs and downloads whose worker stopped: %s", recovered)
    if resent:
        log.warning("re-sent the tasks of queued runs: %s", resent)
    return changed | dict.fromkeys(resent, "queued") | recovered


def start_periodic(ctx: WorkerContext) -> threading.Event:
    """Reconcile now and then every `reconcile_every_s` in a daemon thread; set to stop."""
    stop = threading.Event()

    def loop() -> None:
        while True:
            try:
                reconcile_once(ctx)
            except Exception:  # a database hiccup must not end the loop
                log.exception("reconcile failed")
            if stop.wait(ctx.settings.reconcile_every_s):
                return

    threading.Thread(target=loop, name="reconciler", daemon=True).start()
    return stop
