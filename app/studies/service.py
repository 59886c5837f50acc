"""Study lifecycle. Functions take the session and never commit; runs go out after commit.

A study runs in phases, each started by `advance` once the previous one has succeeded
(it is called when one of its runs settles, and on resume): the base student first (its
evaluation is then cached for every other cell), then every method at the step budget,
then, per seed, every method at the trained-token budget of the reference method. The
study's status is read from its runs; only a cancel is stored on the study itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.results.models import MetricPoint
from app.runs import service as runs
from app.runs.models import Run
from app.runs.status import ACTIVE, RunStatus, allows
from app.settings import Settings
from app.studies import plan
from app.studies.exceptions import NotStudyOwner, StudyNotFound, StudyWrongStatus
from app.studies.models import Study, StudyRun, StudyStatus
from app.studies.schemas import StudySpec
from app.users.models import User

Cells = list[tuple[StudyRun, Run]]
SUCCEEDED = RunStatus.SUCCEEDED.value
# A run's progress is its current stage's and restarts at every stage, so it says little of
# how much of the run is left: a cell whose run has not succeeded counts for at most this
# share of one, and the study never reads 1 while one of its runs is still going.
UNFINISHED_CELL_SHARE = 0.5


def create(session: Session, settings: Settings, user: User, name: str, spec: StudySpec) -> Study:
    study = Study(name=name, owner_id=user.id, spec=plan.freeze(session, settings, spec))
    session.add(study)
    session.flush()
    advance(session, study)
    return study


def get(session: Session, study_id: str, for_update: bool = False) -> Study:
    query = select(Study).where(Study.id == study_id)
    study = session.scalar(query.with_for_update() if for_update else query)
    if study is None:
        raise StudyNotFound(study_id)
    return study


def list_studies(session: Session, limit: int, offset: int) -> tuple[list[Study], int]:
    total = session.scalar(select(func.count()).select_from(Study)) or 0
    page = select(Study).order_by(Study.created_at.desc(), Study.id.desc())
    return list(session.scalars(page.limit(limit).offset(offset))), total


def cells(session: Session, study: Study) -> Cells:
    query = (
        select(StudyRun, Run)
        .join(Run, Run.id == StudyRun.run_id)
        .where(StudyRun.study_id == study.id)
        .order_by(StudyRun.budget, StudyRun.seed)
    )
    return [(link, run) for link, run in session.execute(query)]


def status(study: Study, rows: Cells) -> StudyStatus:
    """From the study's runs: active ones make it running (or cancelling); a stopped one
    failed (or cancelled, if asked); all planned cells succeeded make it succeeded."""
    states = {RunStatus(run.status) for _, run in rows}
    if states & set(ACTIVE):
        return StudyStatus.CANCELLING if study.cancel_requested_at else StudyStatus.RUNNING
    if study.cancel_requested_at:
        return StudyStatus.CANCELLED
    if states & {RunStatus.FAILED, RunStatus.CANCELLED}:
        return StudyStatus.FAILED
    if len(rows) == plan.planned_rows(study.spec):
        return StudyStatus.SUCCEEDED
    return StudyStatus.RUNNING


def progress(study: Study, rows: Cells) -> float:
    """The share of planned cells done: whole for a succeeded run (a terminal state), part
    of one for a run still going (see UNFINISHED_CELL_SHARE)."""
    done = sum(
        1.0 if run.status == SUCCEEDED else UNFINISHED_CELL_SHARE * run.progress for _, run in rows
    )
    return done / plan.planned_rows(study.spec)


ACTIONS = {
    "cancel": (StudyStatus.RUNNING, StudyStatus.CANCELLING),
    "resume": (StudyStatus.CANCELLED, StudyStatus.FAILED),
}


def allowed_actions(user: User, study: Study, current: StudyStatus) -> frozenset[str]:
    """What this user may do to the study now (its owner or an admin)."""
    if study.owner_id != user.id and not user.is_admin:
        return frozenset()
    return frozenset(a for a, states in ACTIONS.items() if current in states)


def _check_owner(user: User, study: Study, action: str) -> None:
    if study.owner_id != user.id and not user.is_admin:
        raise NotStudyOwner(action)


def cancel(session: Session, user: User, study_id: str) -> Study:
    """Stop queueing new cells and cancel the active ones (their owner is the study's)."""
    study = get(session, study_id, for_update=True)
    _check_owner(user, study, "cancel")
    rows = cells(session, study)
    if status(study, rows) not in ACTIONS["cancel"]:
        raise StudyWrongStatus("cancel", status(study, rows))
    study.cancel_requested_at = study.cancel_requested_at or utcnow()
    for run in {run.id: run for _, run in rows}.values():
        if allows("cancel", run.status):
            runs.cancel(session, user, run.id)
    return study


def resume(session: Session, settings: Settings, user: User, study_id: str) -> Study:
    """Continue a cancelled or failed study: its stopped runs resume (from their last
    checkpoint, or from the start without one) and missing cells are queued."""
    study = get(session, study_id, for_update=True)
    _check_owner(user, study, "resume")
    rows = cells(session, study)
    if status(study, rows) not in ACTIONS["resume"]:
        raise StudyWrongStatus("resume", status(study, rows))
    study.cancel_requested_at = None
    for run in {run.id: run for _, run in rows}.values():
        if not allows("resume", run.status):
            continue
        if runs.has_checkpoint(settings, run):
            runs.resume(session, settings, user, run.id)
        else:
            run.attempt, run.resume, run.cancel_requested_at = run.attempt + 1, False, None
            runs.queue_run(session, run)
    advance(session, study)
    return study


def _add(
    session: Session, study: Study, owner: User, cell: plan.Cell, seed: int, steps: int | None
) -> Run:
    raw = plan.cell_config(study.spec, cell, seed, steps)
    budget = "" if not cell.trains else f", {raw['train'].get('max_steps', 'default')} steps"
    name = f"{study.name} · {cell.label} · seed {seed}{budget}"
    return runs.create(session, owner, name[:200], raw)


def _link(
    session: Session, study: Study, cell: plan.Cell, seed: int, budget: str, run: Run
) -> None:
    session.add(
        StudyRun(study_id=study.id, label=cell.label, seed=seed, budget=budget, run_id=run.id)
    )


def _joint(run: Run):
    """The run's joint-phase steps: those where the student learned (lr > 0; MIND's
    warm-up logs lr 0), as a subquery of step numbers."""
    return select(MetricPoint.step).where(
        MetricPoint.run_id == run.id, MetricPoint.name == "lr", MetricPoint.value > 0
    )


def trained_tokens(session: Session, run: Run) -> int | None:
    """Tokens of the run that received gradient: the trainer's own count where it keeps
    one (`tokens_trained_total`), else the tokens of its joint-phase steps."""
    last = session.scalar(
        select(MetricPoint.value)
        .where(MetricPoint.run_id == run.id, MetricPoint.name == "tokens_trained_total")
        .order_by(MetricPoint.step.desc())
        .limit(1)
    )
    if last is not None:
        return int(last)
    total = session.scalar(
        select(func.sum(MetricPoint.value)).where(
            MetricPoint.run_id == run.id,
            MetricPoint.name == "tokens",
            MetricPoint.step.in_(_joint(run)),
        )
    )
    return None if total is None else int(total)


def _token_steps(session: Session, reference: Run, run: Run) -> int:
    """The step count that gives `run`'s method the reference's trained tokens, at the
    rate (trained tokens per joint step) it showed at the step budget."""
    from mind.budget import steps_for_tokens
    from mind.config import parse_config

    steps = run.config["train"]["max_steps"]
    budget, own = trained_tokens(session, reference), trained_tokens(session, run)
    joint = session.scalar(select(func.count()).select_from(_joint(run).subquery()))
    if not budget or not own or not joint:
        return steps
    return steps_for_tokens(parse_config(run.config), budget, own / joint) or steps


def _queue_step_budget(
    session: Session, study: Study, owner: User, have: dict[tuple, Run], trained: list[plan.Cell]
) -> None:
    for seed in study.spec["seeds"]:
        for cell in trained:
            if (cell.label, seed, "steps") not in have:
                run = _add(session, study, owner, cell, seed, None)
                _link(session, study, cell, seed, "steps", run)


def _queue_token_budget(
    session: Session, study: Study, owner: User, have: dict[tuple, Run], trained: list[plan.Cell]
) -> None:
    """Per seed, once every method's step-budget run has succeeded."""
    for seed in study.spec["seeds"]:
        at_steps = {c.label: have.get((c.label, seed, "steps")) for c in trained}
        if not all(r is not None and r.status == SUCCEEDED for r in at_steps.values()):
            continue
        reference = at_steps[study.spec["token_budget_reference"]]
        for cell in trained:
            own = at_steps[cell.label]
            if (cell.label, seed, "tokens") in have or own is None:
                continue
            steps = _token_steps(session, reference, own)
            same = steps == own.config["train"]["max_steps"]
            run = own if same else _add(session, study, owner, cell, seed, steps)
            _link(session, study, cell, seed, "tokens", run)


def advance(session: Session, study: Study) -> None:
    """Queue every cell whose turn has come; idempotent (cells already there are kept)."""
    if study.cancel_requested_at:
        return
    owner = session.get(User, study.owner_id)
    assert owner is not None, "users are never deleted while they own studies"
    have = {(link.label, link.seed, link.budget): run for link, run in cells(session, study)}
    base, *others = plan.cells(study.spec)
    first_seed = study.spec["seeds"][0]
    base_run = have.get((base.label, first_seed, "steps"))
    if base_run is None:
        run = _add(session, study, owner, base, first_seed, None)
        for budget in plan.BUDGETS:
            _link(session, study, base, first_seed, budget, run)
    elif base_run.status == SUCCEEDED:
        trained = [c for c in others if c.trains]
        _queue_step_budget(session, study, owner, have, trained)
        _queue_token_budget(session, study, owner, have, trained)


def advance_for_run(session: Session, run_id: str) -> None:
    """Advance every study this run belongs to (called once the run has settled)."""
    # IN, not DISTINCT: Postgres has no equality operator for the JSON spec column.
    linked = select(StudyRun.study_id).where(StudyRun.run_id == run_id)
    for study in session.scalars(select(Study).where(Study.id.in_(linked))):
        advance(session, get(session, study.id, for_update=True))


def describe(session: Session, study: Study) -> dict[str, Any]:
    """The study with its status, progress and one entry per planned cell."""
    rows = cells(session, study)
    by_key = {(link.label, link.seed, link.budget): run for link, run in rows}
    seeds = study.spec["seeds"]
    out = []
    for budget in plan.BUDGETS:
        for cell in plan.cells(study.spec):
            for seed in seeds if cell.trains else seeds[:1]:
                run = by_key.get((cell.label, seed, budget))
                out.append(_cell_out(session, cell, seed, budget, run))
    return {
        "id": study.id,
        "name": study.name,
        "owner_id": study.owner_id,
        "status": status(study, rows),
        "progress": progress(study, rows),
        "created_at": study.created_at,
        "spec": study.spec,
        "cells": out,
    }


def _cell_out(
    session: Session, cell: plan.Cell, seed: int, budget: str, run: Run | None
) -> dict[str, Any]:
    return {
        "label": cell.label,
        "method": cell.method,
        "seed": seed if cell.trains else None,
        "budget": budget,
        "run_id": run.id if run else None,
        "status": run.status if run else "waiting",
        "stage": run.stage if run else None,
        "progress": run.progress if run else 0.0,
        "max_steps": run.config["train"]["max_steps"] if run and cell.trains else None,
        "tokens_trained": (
            trained_tokens(session, run)
            if run and cell.trains and run.status == SUCCEEDED
            else None
        ),
    }
