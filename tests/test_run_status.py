"""The run status machine: the moves every writer makes, and the actions users may take."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.runs.exceptions import IllegalTransition, WrongStatus
from app.runs.status import (
    ACTIONS,
    ACTIVE,
    TERMINAL,
    TRANSITIONS,
    RunStatus,
    allows,
    move,
    require,
)

S = RunStatus


@dataclass
class Row:
    status: str


@pytest.mark.parametrize(
    ("start", "path"),
    [
        (S.VALIDATING, [S.QUEUED, S.RUNNING, S.SUCCEEDED]),
        (S.QUEUED, [S.RUNNING, S.CANCELLING, S.CANCELLED, S.QUEUED]),  # cancel, then resume
        (S.RUNNING, [S.FAILED, S.QUEUED, S.CANCELLED]),  # resumed, cancelled while queued
        (S.RUNNING, [S.QUEUED]),  # the reconciler re-queues a lost run
    ],
)
def test_the_lifecycle_moves_are_allowed(start: RunStatus, path: list[RunStatus]) -> None:
    row = Row(start.value)
    for to in path:
        move(row, to)
        assert row.status == to.value and type(row.status) is str


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (S.SUCCEEDED, S.QUEUED),
        (S.CANCELLING, S.SUCCEEDED),
        (S.QUEUED, S.SUCCEEDED),
        (S.FAILED, S.RUNNING),
        (S.VALIDATING, S.RUNNING),
    ],
)
def test_other_moves_are_refused_and_change_nothing(start: RunStatus, to: RunStatus) -> None:
    row = Row(start.value)
    with pytest.raises(IllegalTransition, match=f"{start} cannot become {to}"):
        move(row, to)
    assert row.status == start.value


def test_every_status_is_active_terminal_or_validating() -> None:
    assert set(TRANSITIONS) == set(S) == {S.VALIDATING, *ACTIVE, *TERMINAL}
    assert all(not TRANSITIONS[s] - {S.QUEUED} for s in TERMINAL)  # only resume leaves one


def test_actions_lead_where_the_services_move_the_run() -> None:
    assert all(TRANSITIONS[s] & {S.CANCELLED, S.CANCELLING} for s in ACTIONS["cancel"])
    assert all(S.QUEUED in TRANSITIONS[s] for s in ACTIONS["resume"])
    assert not ACTIONS["delete"] & {S.RUNNING, S.CANCELLING}  # a worker holds those


def test_require_names_the_status() -> None:
    assert allows("delete", "succeeded") and not allows("resume", "succeeded")
    with pytest.raises(WrongStatus, match="cannot resume a run that is succeeded"):
        require("resume", "succeeded")
