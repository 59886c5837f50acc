"""Run events into the webhook outbox, whoever changes the run (web, worker, reconciler).

Before a flush, every run whose status became terminal gets its deliveries added to the
same transaction; once that transaction commits they are sent from a background thread.
A rolled-back status change therefore never notifies anyone, and a committed one always
leaves a delivery row, sent or not, in the log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from app.progress.timing import status_changes
from app.runs.models import Run
from app.runs.status import TERMINAL
from app.settings import Settings
from app.studies import service as studies
from app.studies.models import Study, StudyRun, StudyStatus
from app.webhooks import service
from app.webhooks.delivery import Policy, deliver_in_background

STUDY_ACTIVE = (StudyStatus.RUNNING, StudyStatus.CANCELLING)


def finished_studies(session: Session, run: Run) -> list[tuple[Study, str]]:
    """(study, status) of the studies this run's end finishes (none of their runs active)."""
    linked = select(StudyRun.study_id).where(StudyRun.run_id == run.id)
    found = session.scalars(select(Study).where(Study.id.in_(linked)))
    statuses = [(study, studies.status(study, studies.cells(session, study))) for study in found]
    return [(s, str(status)) for s, status in statuses if status not in STUDY_ACTIVE]


def _before_flush(session: Session, *_: Any) -> None:
    ended = [run for run, old in status_changes(session) if run.status in TERMINAL]
    if not ended:
        return
    with session.no_autoflush:
        for run in ended:
            service.queue_run_event(session, run)
            for study, status in finished_studies(session, run):
                service.queue_study_event(session, study, status)


def _after_commit(session: Session) -> None:
    queued = session.info.pop(service.OUTBOX, [])
    if queued:
        factory = sessionmaker(session.get_bind(), expire_on_commit=False)
        deliver_in_background(factory, [d.id for d in queued], Policy.of(Settings()))


def _after_rollback(session: Session) -> None:
    session.info.pop(service.OUTBOX, None)


def install(factory: sessionmaker) -> None:
    for name, handler in (
        ("before_flush", _before_flush),
        ("after_commit", _after_commit),
        ("after_soft_rollback", lambda s, _: _after_rollback(s)),
    ):
        event.listen(factory, name, handler)
