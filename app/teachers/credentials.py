"""Teacher checks shared by runs and teacher jobs, and the API key handed to a backend.

The studio takes teacher API keys only as team secrets (`teacher.api_key_secret`). A
config may not point `teacher.api_key_env` at another variable of the worker: with a
base URL of their choosing, a user could otherwise have the worker send them any of its
environment (the secret key included).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.secrets import service as secrets
from app.settings import Settings
from app.students import service as models
from mind.config import RunConfig, TeacherConfig

DEFAULT_KEY_ENV = TeacherConfig.model_fields["api_key_env"].default
KEY_ENV = "MIND_TEACHER_API_KEY"


def teacher_problem(session: Session, teacher: TeacherConfig) -> tuple[str, str] | None:
    """(key under `teacher`, message) of the first problem, or None."""
    if teacher.api_key_env != DEFAULT_KEY_ENV:
        return "api_key_env", "the studio takes API keys as team secrets: set api_key_secret"
    if teacher.api_key_secret is not None:
        try:
            secrets.get(session, teacher.api_key_secret)
        except secrets.SecretNotFound as exc:
            return "api_key_secret", exc.message
    if teacher.backend == "hf":
        problem = models.student_problem(session, teacher.model)
        if problem:
            return "model", problem
    return None


def secret_value(session: Session, settings: Settings, config: RunConfig) -> str | None:
    """The decrypted API key the config's teacher names, or None when it names none."""
    teacher = config.teacher
    if teacher is None or teacher.api_key_secret is None:
        return None
    return secrets.reveal(session, settings, teacher.api_key_secret)


@contextmanager
def teacher_key(config: RunConfig, value: str | None) -> Iterator[RunConfig]:
    """The config whose backend reads `value` (a team secret's), set in this process's
    environment only while the block runs (the frozen config keeps only the name)."""
    if config.teacher is None or value is None:
        yield config
        return
    os.environ[KEY_ENV] = value
    try:
        teacher = config.teacher.model_copy(update={"api_key_env": KEY_ENV})
        yield config.model_copy(update={"teacher": teacher})
    finally:
        os.environ.pop(KEY_ENV, None)
