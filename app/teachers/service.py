"""Teacher jobs: submit, list, cancel; and the connection test. Functions never commit."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.datasets import service as datasets
from app.datasets.exceptions import DatasetNotFound
from app.db import utcnow
from app.errors import Forbidden
from app.queue import RUN_TEACHER_JOB, enqueue
from app.secrets import service as secrets
from app.settings import Settings
from app.teachers.connection import ConnectionResult, probe_openai
from app.teachers.credentials import teacher_problem
from app.teachers.exceptions import InvalidTeacherJob, JobNotActive, TeacherJobNotFound
from app.teachers.models import TeacherJob
from app.teachers.schemas import TeacherJobCreate
from app.users.models import User
from mind import perspectives
from mind.config import ConfigError, RunConfig, TeacherConfig, parse_config


def _config(body: TeacherJobCreate) -> RunConfig:
    raw: dict[str, Any] = {
        "perspectives": body.perspectives,
        "custom_perspectives": body.custom_perspectives,
        "data": {"questions": body.questions, "max_questions": body.max_questions},
        "teacher": body.teacher,
        "seed": body.seed,
    }
    try:
        config = parse_config(raw)
    except ConfigError as exc:
        raise InvalidTeacherJob(exc.message, exc.key.removeprefix("data.") or None) from None
    custom = [
        perspectives.Perspective(c.id, c.name, c.instruction) for c in config.custom_perspectives
    ]
    try:
        perspectives.resolve(config.perspectives or list(perspectives.BUILTIN), custom)
    except ValueError as exc:
        raise InvalidTeacherJob(str(exc), "perspectives") from None
    return config


def create(session: Session, user: User, body: TeacherJobCreate) -> TeacherJob:
    """Validated before queueing; InvalidTeacherJob names the field."""
    config = _config(body)
    try:
        questions = datasets.get(session, body.questions, "questions")
    except DatasetNotFound:
        raise InvalidTeacherJob(f"no dataset {body.questions!r}", "questions") from None
    if questions.kind != "questions":
        raise InvalidTeacherJob(f"dataset {questions.id!r} holds {questions.kind}", "questions")
    assert config.teacher is not None
    problem = teacher_problem(session, config.teacher)
    if problem:
        raise InvalidTeacherJob(problem[1], f"teacher.{problem[0]}")
    job = TeacherJob(
        name=body.name, owner_id=user.id, questions_id=questions.id, config=config.frozen()
    )
    session.add(job)
    session.flush()
    enqueue(session, RUN_TEACHER_JOB, job.id)
    return job


def get(session: Session, job_id: str, for_update: bool = False) -> TeacherJob:
    job = session.get(TeacherJob, job_id, with_for_update=for_update)
    if job is None:
        raise TeacherJobNotFound(job_id)
    return job


def list_jobs(session: Session, limit: int, offset: int) -> tuple[list[TeacherJob], int]:
    total = session.scalar(select(func.count()).select_from(TeacherJob)) or 0
    query = select(TeacherJob).order_by(TeacherJob.created_at.desc()).limit(limit).offset(offset)
    return list(session.scalars(query)), total


def cancel(session: Session, user: User, job_id: str) -> TeacherJob:
    """Queued: cancelled at once. Running: asked to stop (what was generated stays cached)."""
    job = get(session, job_id, for_update=True)
    if job.owner_id != user.id and not user.is_admin:
        raise Forbidden("only the job's owner or an admin can cancel it")
    if job.status == "queued":
        job.status, job.finished_at = "cancelled", utcnow()
    elif job.status == "running":
        job.status = "cancelling"
    elif job.status != "cancelling":
        raise JobNotActive(job.status)
    return job


def test_connection(session: Session, settings: Settings, raw: dict[str, Any]) -> ConnectionResult:
    """One tiny request to an OpenAI-compatible teacher; for a local (hf) teacher, whether
    its model is available to the workers. Invalid settings raise, naming `teacher.<key>`."""
    try:
        teacher = TeacherConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(["teacher", *(str(p) for p in first["loc"])])
        raise InvalidTeacherJob(first["msg"], field) from None
    problem = teacher_problem(session, teacher)
    if problem:
        raise InvalidTeacherJob(problem[1], f"teacher.{problem[0]}")
    if teacher.backend == "hf":
        return ConnectionResult(ok=True, model=teacher.model)
    secret = teacher.api_key_secret
    return probe_openai(
        teacher, secrets.reveal(session, settings, secret) if secret else None, settings
    )
