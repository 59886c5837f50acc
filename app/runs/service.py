"""Run lifecycle. Functions take the session and never commit; tasks go out after commit.

State machine (the row is the truth): queued -> running -> succeeded | failed | cancelled,
with cancelling while a cancel is in progress. Only the worker moves a run out of
`running`; the API only asks (cancel) or re-queues finished runs (resume).
"""

from __future__ import annotations

import copy
import shutil
from collections import defaultdict
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from app.datasets.models import Dataset, RunDataset
from app.db import utcnow
from app.preflight.service import check_data
from app.queue import EXECUTE_RUN, enqueue
from app.runs import config as run_config
from app.runs.exceptions import NothingToResume, NotOwner, PartOfStudy, RunNotFound
from app.runs.models import NAME_MAX, Run, RunEvent
from app.runs.schemas import RunFilters
from app.runs.status import ACTIONS, RunStatus, allows, move, require
from app.settings import Settings
from app.studies.models import StudyRun
from app.users.models import User
from app.workers import service as workers


def add_event(session: Session, run: Run, kind: str, message: str, **data: Any) -> None:
    session.add(RunEvent(run_id=run.id, kind=kind, message=message, data=data))


def dispatch(session: Session, run: Run) -> None:
    """Send the task of the run's current attempt after commit, to the queue of workers
    that can take it (`app.workers.service.route`, again on every attempt); the row is
    marked dispatched once the broker has it (else the reconciler sends it again)."""
    run.dispatched_at = None
    try:
        run.queue = workers.route_config(session, run.config)
    except workers.NoCapacity as exc:  # the workers went away: wait in the last queue
        add_event(session, run, "warning", f"{exc.message}; kept in queue {run.queue}")
    sent = (
        update(Run)
        .where(Run.id == run.id, Run.attempt == run.attempt)
        .values(dispatched_at=utcnow())
    )
    enqueue(session, EXECUTE_RUN, run.id, run.attempt, sent=sent, queue=run.queue)


def queue_run(session: Session, run: Run) -> None:
    """Mark the run queued and send its task (for `run.attempt`) after commit."""
    move(run, RunStatus.QUEUED)
    run.stage, run.error, run.finished_at = None, None, None
    add_event(session, run, "status", f"queued (attempt {run.attempt})", attempt=run.attempt)
    dispatch(session, run)


def submit(
    session: Session,
    settings: Settings,
    user: User,
    name: str,
    raw_config: Any,
    parent: Run | None = None,
) -> Run:
    """A user's run: its config checked, and its data (`check_data`), so a run that would
    stop once started is refused now, with the key to change."""
    checked = run_config.check(session, raw_config)
    check_data(settings, checked)
    return _create(session, user, name, checked, parent)


def create(
    session: Session, user: User, name: str, raw_config: Any, parent: Run | None = None
) -> Run:
    """A run whose config is checked here but whose data was checked before: a study's
    cells, checked once when the study was submitted (`app.studies.plan.freeze`)."""
    return _create(session, user, name, run_config.check(session, raw_config), parent)


def _create(
    session: Session, user: User, name: str, checked: run_config.CheckedConfig, parent: Run | None
) -> Run:
    config = checked.config
    run = Run(
        name=name,
        owner_id=user.id,
        parent_id=parent.id if parent else None,
        method=config.method,
        student=config.student,
        teacher=config.teacher.model if config.teacher else None,
        config=config.frozen(),
        data_hashes={role: d.content_hash for role, d in checked.datasets.items()},
    )
    session.add(run)
    session.flush()
    session.add_all(
        RunDataset(run_id=run.id, role=role, dataset_id=d.id)
        for role, d in checked.datasets.items()
    )
    queue_run(session, run)
    return run


def get(session: Session, run_id: str, for_update: bool = False) -> Run:
    query = select(Run).where(Run.id == run_id)
    run = session.scalar(query.with_for_update() if for_update else query)
    if run is None:
        raise RunNotFound(run_id)
    return run


def _filtered(filters: RunFilters) -> Select:
    query = select(Run)
    for column, value in (
        (Run.status, filters.status),
        (Run.owner_id, filters.owner),
        (Run.method, filters.method),
        (Run.student, filters.student),
    ):
        if value:
            query = query.where(column == value)
    if filters.q:
        query = query.where(
            Run.name.icontains(filters.q, autoescape=True) | Run.id.startswith(filters.q.lower())
        )
    if filters.dataset:
        used = select(RunDataset.run_id).where(RunDataset.dataset_id == filters.dataset)
        query = query.where(Run.id.in_(used))
    return query


def list_runs(
    session: Session, filters: RunFilters, limit: int, offset: int
) -> tuple[list[Run], int]:
    query = _filtered(filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(Run.created_at.desc(), Run.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(page)), total


def _check_owner(user: User, run: Run, action: str) -> None:
    if run.owner_id != user.id and not user.is_admin:
        raise NotOwner(action)


def cancel(session: Session, user: User, run_id: str) -> Run:
    """A queued run is cancelled at once; a running one is asked to stop (cancelling)."""
    run = get(session, run_id, for_update=True)
    _check_owner(user, run, "cancel")
    if run.status == RunStatus.CANCELLING:
        return run
    require("cancel", run.status)
    if run.status == RunStatus.QUEUED:
        move(run, RunStatus.CANCELLED)
        run.finished_at = utcnow()
        add_event(session, run, "status", "cancelled before it started")
    else:
        move(run, RunStatus.CANCELLING)
        run.cancel_requested_at = utcnow()
        add_event(session, run, "status", f"cancel requested by {user.email}")
    return run


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def clone(
    session: Session,
    settings: Settings,
    user: User,
    run_id: str,
    name: str | None,
    overrides: dict[str, Any],
) -> Run:
    """A new run (owned by whoever clones) from a run's frozen config plus overrides."""
    source = get(session, run_id)
    raw = _merge(source.config, overrides)
    return submit(session, settings, user, name or clone_name(source.name), raw, parent=source)


def clone_name(name: str) -> str:
    """`<name> (clone)`, cut to fit the 200-character column."""
    suffix = " (clone)"
    return name[: NAME_MAX - len(suffix)] + suffix


def has_checkpoint(settings: Settings, run: Run) -> bool:
    root = settings.storage / run.directory / "checkpoints"
    return any(root.glob("step-*/manifest.json"))


def allowed_actions(settings: Settings, user: User, run: Run) -> frozenset[str]:
    """What `user` may do to `run` now, by the rules `cancel`, `resume` and `delete` enforce."""
    if run.owner_id != user.id and not user.is_admin:
        return frozenset()
    return frozenset(
        action
        for action in ACTIONS
        if allows(action, run.status) and (action != "resume" or has_checkpoint(settings, run))
    )


def resume(session: Session, settings: Settings, user: User, run_id: str) -> Run:
    """Queue a failed or cancelled run again, to continue from its last checkpoint."""
    run = get(session, run_id, for_update=True)
    _check_owner(user, run, "resume")
    require("resume", run.status)
    if not has_checkpoint(settings, run):
        raise NothingToResume(run_id)
    run.attempt, run.resume, run.cancel_requested_at = run.attempt + 1, True, None
    queue_run(session, run)
    return run


def delete(session: Session, settings: Settings, user: User, run_id: str) -> None:
    run = get(session, run_id, for_update=True)
    _check_owner(user, run, "delete")
    require("delete", run.status)
    study_id = session.scalar(select(StudyRun.study_id).where(StudyRun.run_id == run_id).limit(1))
    if study_id is not None:
        raise PartOfStudy(run_id, study_id)
    session.delete(run)
    session.flush()
    shutil.rmtree(settings.storage / run.directory, ignore_errors=True)


def list_events(session: Session, run_id: str, after: int, limit: int) -> list[RunEvent]:
    query = (
        select(RunEvent)
        .where(RunEvent.run_id == run_id, RunEvent.id > after)
        .order_by(RunEvent.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def run_datasets(session: Session, run_ids: list[str]) -> dict[str, dict[str, Dataset]]:
    """{run id: {role: dataset}} for the runs of one page."""
    query = (
        select(RunDataset.run_id, RunDataset.role, Dataset)
        .join(Dataset, Dataset.id == RunDataset.dataset_id)
        .where(RunDataset.run_id.in_(run_ids))
    )
    out: dict[str, dict[str, Dataset]] = defaultdict(dict)
    for run_id, role, dataset in session.execute(query):
        out[run_id][role] = dataset
    return dict(out)


def runs_using(session: Session, dataset_id: str, limit: int) -> tuple[list[Run], int]:
    used = select(RunDataset.run_id).where(RunDataset.dataset_id == dataset_id)
    total = session.scalar(select(func.count()).select_from(used.distinct().subquery())) or 0
    query = select(Run).where(Run.id.in_(used)).order_by(Run.created_at.desc()).limit(limit)
    return list(session.scalars(query)), total


def distinct_values(session: Session, column: Any, limit: int = 100) -> list[str]:
    """Filter choices (methods, students) that runs actually used."""
    return list(session.scalars(select(column).distinct().order_by(column).limit(limit)))


def recent_events(session: Session, run_id: str, n: int) -> list[RunEvent]:
    """The last `n` log events, oldest first: the run page shows the tail of a long log."""
    query = select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.id.desc())
    return list(reversed(list(session.scalars(query.limit(n)))))
