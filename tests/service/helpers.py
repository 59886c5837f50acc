"""Builders and helpers for the service tests: users, data files, configs, workers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.deploy import WORKER, local
from app.settings import Settings
from app.users import service as users
from app.users.models import User

REDIS = os.environ.get("MIND_TEST_REDIS", "redis://127.0.0.1:6379/0")
SVAMP_IDS = [f"chal-{i}" for i in range(1, 7)]
PERSPECTIVES = ["formal_symbolic", "decomposition", "other:standard_cot"]


def make_user(session: Session, admin: bool = False) -> tuple[User, dict[str, str]]:
    """A user and the Authorization header of a fresh token of theirs."""
    user = users.create_user(session, f"{uuid.uuid4().hex[:8]}@team.test", "password1", admin)
    _, token = users.create_token(session, user)
    session.commit()
    return user, {"Authorization": f"Bearer {token}"}


def svamp_files(shared: Path, folder: Path) -> tuple[Path, Path]:
    """Small questions and rationales files cut from the shared SVAMP data."""
    folder.mkdir(parents=True, exist_ok=True)
    questions, rationales = folder / "questions.jsonl", folder / "rationales.jsonl"
    lines = (shared / "datasets/svamp/test.jsonl").read_text().split("\n")[:20]
    questions.write_text("\n".join(lines) + "\n")
    keep = [
        line
        for line in (shared / "teacher_rationales/svamp_test.jsonl").read_text().split("\n")
        if line.strip() and json.loads(line)["id"] in SVAMP_IDS
    ]
    rationales.write_text("\n".join(keep) + "\n")
    return questions, rationales


def upload(client: TestClient, headers: dict, path: Path, kind: str) -> str:
    with path.open("rb") as handle:
        response = client.post(
            "/api/v1/datasets", headers=headers, data={"kind": kind}, files={"file": handle}
        )
    assert response.status_code in (200, 201), response.text
    return response.json()["id"]


def run_config(student: str, questions: str, rationales: str, **train: int) -> dict:
    """A run that finishes in seconds on CPU with the tiny student."""
    return {
        "student": student,
        "method": "mind",
        "perspectives": PERSPECTIVES,
        "data": {"questions": questions, "rationales": rationales, "max_questions": 4},
        "train": {"max_steps": 3, "questions_per_batch": 2, "max_seq_len": 192, **train},
        "mind": {"metanet_dim": 32},
        "eval": {
            "benchmarks": [{"name": "svamp", "dataset": questions, "max_questions": 2}],
            "max_new_tokens": 8,
        },
        "analysis": {"probe_questions": 3, "pca_components": 4},
    }


def study_spec(
    student: str, questions: str, rationales: str, methods: tuple[str, ...] = ("sft", "mind")
) -> dict:
    """`methods`, one seed, six evaluated questions: a study of seconds per run."""
    config = run_config(student, questions, rationales)
    config.pop("method")
    config["data"]["max_questions"] = 6
    config["eval"]["benchmarks"][0]["max_questions"] = 6
    config["train"]["max_steps"] = 2
    config["train"]["save_every"] = 1
    config["eval"]["curve_questions"] = 2
    return {"config": config, "methods": [{"method": m} for m in methods], "seeds": [0]}


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def start_worker(settings: Settings, log: Path) -> subprocess.Popen:
    """A real `mind-studio worker` process (compose's command) with these settings."""
    env = os.environ | settings.child_env() | {"HF_HUB_OFFLINE": "1"}
    with log.open("ab") as out:
        return subprocess.Popen(local(WORKER), env=env, stdout=out, stderr=out)


def run_to_the_end(http: httpx.Client, shared: Path, folder: Path, student: str) -> dict:
    """Upload the small SVAMP files, submit `run_config` over HTTP, return the finished run."""
    questions, rationales = svamp_files(shared, folder)
    ids = {}
    for kind, path in (("questions", questions), ("rationales", rationales)):
        with path.open("rb") as handle:
            answer = http.post("/datasets", data={"kind": kind}, files={"file": handle})
        assert answer.status_code == 201, answer.text
        ids[kind] = answer.json()["id"]
    config = run_config(student, ids["questions"], ids["rationales"])
    created = http.post("/runs", json={"name": "team", "config": config})
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]

    def finished() -> dict | None:
        run = http.get(f"/runs/{run_id}").json()
        return run if run["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(finished, 240, "the run to finish")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def embedded_studio(home: Path, **env: str) -> Iterator[str]:
    """`mind-studio up` (web + one local worker) on a free port; yields its base URL.

    The database of `home` must already be migrated. The whole process group is stopped on
    exit, so no worker or training child outlives the test.
    """
    port = free_port()
    log = (home / "up.log").open("wb")
    up = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up", "--port", str(port)],
        env=os.environ | {"MIND_HOME": str(home), "HF_HUB_OFFLINE": "1", **env},
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, 180, "the studio")
        yield url
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        up.wait(timeout=60)
        log.close()
