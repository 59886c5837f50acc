from __future__ import annotations

from app.errors import Conflict, Forbidden, Invalid, NotFound


class RunNotFound(NotFound):
    def __init__(self, run_id: str):
        super().__init__(f"no run {run_id!r}", "run_id")


class NotOwner(Forbidden):
    def __init__(self, action: str):
        super().__init__(f"only the run's owner or an admin can {action} it")


class WrongStatus(Conflict):
    def __init__(self, action: str, status: str):
        super().__init__(f"cannot {action} a run that is {status}", "status")


class IllegalTransition(Conflict):
    """A status change `app.runs.status.TRANSITIONS` does not allow (a race or a bug)."""

    def __init__(self, status: str, to: str):
        super().__init__(f"a run that is {status} cannot become {to}", "status")


class InvalidConfig(Invalid):
    """A config the run cannot start with; `field` is the dotted key under `config`."""

    def __init__(self, key: str, message: str):
        super().__init__(message, f"config.{key}" if key else "config")


class PartOfStudy(Conflict):
    """Deleting a study's cell would leave the study with a hole it cannot refill."""

    def __init__(self, run_id: str, study_id: str):
        super().__init__(
            f"run {run_id!r} is a cell of study {study_id!r}: delete the study instead", "run_id"
        )


class NothingToResume(Conflict):
    def __init__(self, run_id: str):
        super().__init__(f"run {run_id!r} has no checkpoint to resume from", "run_id")
