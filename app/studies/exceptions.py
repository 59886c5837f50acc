from __future__ import annotations

from app.errors import Conflict, Forbidden, Invalid, NotFound


class StudyNotFound(NotFound):
    def __init__(self, study_id: str):
        super().__init__(f"no study {study_id!r}", "study_id")


class NotStudyOwner(Forbidden):
    def __init__(self, action: str):
        super().__init__(f"only the study's owner or an admin can {action} it")


class StudyWrongStatus(Conflict):
    def __init__(self, action: str, status: str):
        super().__init__(f"cannot {action} a study that is {status}", "status")


class InvalidSpec(Invalid):
    """A study spec that cannot run; `field` is the dotted key under `spec`."""

    def __init__(self, key: str, message: str):
        super().__init__(message, f"spec.{key}")
