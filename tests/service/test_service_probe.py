"""The reliability probe, kept: schemathesis generates requests for every operation in the
OpenAPI document and sends them to a real `mind-studio web` on Postgres and Redis. Any 5xx,
undocumented status code or response that does not match its schema fails the test.
Bounded: a fixed number of examples per operation and a wall-clock limit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from app.settings import Settings
from tests.service.helpers import REDIS, free_port, wait_for
from tests.service.processes import ready

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)
MAX_EXAMPLES = 8  # per operation: about 200 requests, 20 s on a quiet 2-core machine
TIME_LIMIT_S = 150  # a hard ceiling for a busy machine
# Revoking tokens would let the probe revoke its own (it learns ids from GET /tokens).
SKIP = "revoke_token_api_v1_tokens__token_id__delete"


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(
    tmp_path: Path, new_database: Callable[[], str]
) -> None:
    from app.db import make_engine, make_sessionmaker
    from app.users import service as users

    settings = Settings(
        home=tmp_path,
        database_url=new_database(),
        broker_url=REDIS,
        queue=f"probe-{uuid.uuid4().hex[:8]}",
        bad_token_attempts="1000 per minute",
    )
    with make_sessionmaker(make_engine(settings.database_url)).begin() as session:
        user = users.create_user(session, "probe@team.test", "password1", True)
        _, token = users.create_token(session, user)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "web", "--port", str(port)],
        env=os.environ | settings.child_env() | {"HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "web.log").open("wb"),
    )
    try:
        wait_for(lambda: ready(base), 60, "the web app")
        st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
        probe = subprocess.run(
            [
                st,
                "run",
                f"{base}/openapi.json",
                f"--checks={CHECKS}",
                f"--max-examples={MAX_EXAMPLES}",
                "--header",
                f"Authorization: Bearer {token}",
                "--phases=examples,fuzzing",
                f"--exclude-operation-id={SKIP}",
                "--seed=1",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT_S,
            cwd=tmp_path,
        )
    finally:
        web.terminate()
        web.wait(timeout=30)
    assert probe.returncode == 0, probe.stdout[-6000:] + (tmp_path / "web.log").read_text()[-3000:]
