"""A run's status, the moves between statuses, and what a user may do in each.

Every writer of `Run.status` (the runs service, the worker's supervisor, the reconciler)
moves it with `move`, so a transition not listed in `TRANSITIONS` is refused wherever it is
attempted. The column stores the enum's value (`"queued"`, ...).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from app.runs.exceptions import IllegalTransition, WrongStatus


class RunStatus(StrEnum):
    VALIDATING = "validating"
    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = RunStatus
ACTIVE = (S.QUEUED, S.RUNNING, S.CANCELLING)
TERMINAL = (S.SUCCEEDED, S.FAILED, S.CANCELLED)
IN_WORKER = (S.RUNNING, S.CANCELLING)  # a worker process holds the run
STATUSES = tuple(S)

TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    S.VALIDATING: frozenset({S.QUEUED}),
    S.QUEUED: frozenset({S.RUNNING, S.CANCELLED}),
    # back to queued: the reconciler re-queues a lost run that has a checkpoint
    S.RUNNING: frozenset({S.CANCELLING, S.SUCCEEDED, S.FAILED, S.QUEUED}),
    S.CANCELLING: frozenset({S.CANCELLED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset({S.QUEUED}),  # resume
    S.CANCELLED: frozenset({S.QUEUED}),  # resume
}

# The statuses in which a user may ask for each action (resume also needs a checkpoint).
ACTIONS: dict[str, frozenset[RunStatus]] = {
    "cancel": frozenset({S.QUEUED, S.RUNNING}),
    "resume": frozenset({S.FAILED, S.CANCELLED}),
    "delete": frozenset(set(S) - set(IN_WORKER)),
}


class HasStatus(Protocol):
    status: str


def move(run: HasStatus, to: RunStatus) -> None:
    """Set the run's status; IllegalTransition if `TRANSITIONS` does not allow the move."""
    if to not in TRANSITIONS[RunStatus(run.status)]:
        raise IllegalTransition(run.status, to)
    run.status = to.value


def allows(action: str, status: str) -> bool:
    return RunStatus(status) in ACTIONS[action]


def require(action: str, status: str) -> None:
    """WrongStatus (409) naming the status if `action` is not allowed in it."""
    if not allows(action, status):
        raise WrongStatus(action, status)
