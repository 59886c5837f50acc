"""The team-mode service commands, in one place.

docker-compose.yml runs exactly these (tests/service/test_service_compose.py checks the file
against them and against the compose specification), and the team-mode tests start the same
commands as local processes (`local`), against the real Postgres and Redis.
"""

from __future__ import annotations

import sys

MIGRATE = ["mind-studio", "migrate"]
WEB = ["mind-studio", "web", "--host", "0.0.0.0"]  # port: MIND_PORT (default 8000)
WORKER = ["mind-studio", "worker"]


def local(command: list[str]) -> list[str]:
    """The same command through this interpreter (`python -m app.cli ...`), no install needed."""
    assert command[0] == "mind-studio", command
    return [sys.executable, "-m", "app.cli", *command[1:]]
