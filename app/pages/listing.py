"""Read-only look-ups the list pages add to a page of rows: owners, results, dataset use.

Each takes the ids of one page (at most a page size) and answers with one query, so a
list costs the same with ten runs or ten thousand.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.datasets.models import Dataset, RunDataset
from app.results.models import EvaluationResult
from app.runs.models import Run, RunEvent
from app.users.models import User


def emails(session: Session, user_ids: set[str]) -> dict[str, str]:
    rows = session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
    return {user_id: email for user_id, email in rows}


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def key_results(session: Session, run_ids: list[str]) -> dict[str, dict[str, float]]:
    """{run id: {"id": mean accuracy, "ood": ..., "id_gain": ..., "ood_gain": ...}}."""
    query = (
        select(
            EvaluationResult.run_id,
            EvaluationResult.kind,
            func.avg(EvaluationResult.accuracy),
            func.avg(EvaluationResult.gain),
        )
        .where(EvaluationResult.run_id.in_(run_ids), EvaluationResult.model == "trained")
        .group_by(EvaluationResult.run_id, EvaluationResult.kind)
    )
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for run_id, kind, accuracy, gain in session.execute(query):
        out[run_id][kind] = accuracy
        if gain is not None:
            out[run_id][f"{kind}_gain"] = gain
    return dict(out)


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


def usage_counts(session: Session, dataset_ids: list[str]) -> dict[str, int]:
    query = (
        select(RunDataset.dataset_id, func.count(func.distinct(RunDataset.run_id)))
        .where(RunDataset.dataset_id.in_(dataset_ids))
        .group_by(RunDataset.dataset_id)
    )
    return {dataset_id: n for dataset_id, n in session.execute(query)}


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
