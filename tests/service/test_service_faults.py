"""Faults against real processes: the broker down at submit, a worker killed before its
run's first checkpoint, the database down during a run, SIGTERM of `mind-studio up`, a
full disk. Brokers and databases that a test stops are its own (tests/service/processes.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.cli import main as cli
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.migrate import upgrade
from app.queue import make_celery
from app.runs.models import Run, RunEvent
from app.settings import Settings
from app.users import service as users
from mind import checkpoint
from tests.service.helpers import (
    REDIS,
    free_port,
    run_config,
    start_worker,
    svamp_files,
    upload,
    wait_for,
)
from tests.service.processes import OwnRedis, alive, children, own_postgres, ready
from worker.context import WorkerContext
from worker.reconciler import reconcile_once

API = "/api/v1/runs"
TERMINAL = ("succeeded", "failed", "cancelled")


def _token(url: str) -> dict[str, str]:
    with make_sessionmaker(make_engine(url)).begin() as session:
        user = users.create_user(session, f"{uuid.uuid4().hex[:6]}@team.test", "password1", True)
        _, token = users.create_token(session, user)
    return {"Authorization": f"Bearer {token}"}


def _config(client: TestClient, headers: dict, shared: Path, folder: Path, student: str) -> dict:
    questions, rationales = svamp_files(shared, folder)
    qid = upload(client, headers, questions, "questions")
    rid = upload(client, headers, rationales, "rationales")
    return run_config(student, qid, rid)


def _run(url: str, run_id: str) -> Run:
    with make_sessionmaker(make_engine(url))() as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run


def _events(url: str, run_id: str) -> list[str]:
    with make_sessionmaker(make_engine(url))() as session:
        query = select(RunEvent.message).where(RunEvent.run_id == run_id).order_by(RunEvent.id)
        return list(session.scalars(query))


class TestBroker:
    def test_a_run_submitted_while_the_broker_is_down_gets_its_task_later(
        self, fast: Settings, shared: Path, tiny_student: str
    ) -> None:
        broker = OwnRedis()
        broker.start()
        settings = fast.model_copy(update={"broker_url": broker.url})
        headers = _token(settings.database_url)
        try:
            with TestClient(create_app(settings)) as client:
                config = _config(client, headers, shared, settings.home / "data", tiny_student)
                broker.stop()
                assert client.get("/readyz").json()["broker"] == "unreachable"
                start = time.monotonic()
                created = client.post(API, headers=headers, json={"name": "r", "config": config})
                assert time.monotonic() - start < 20
                assert created.status_code == 201, created.text
                run_id = created.json()["id"]
                assert created.json()["status"] == "queued"
                assert _run(settings.database_url, run_id).dispatched_at is None
            broker.start()
            time.sleep(settings.dispatch_after_s)
            ctx = WorkerContext.build(settings, make_celery(settings))
            assert reconcile_once(ctx) == {run_id: "queued"}
            assert broker.queue_length(settings.queue) == 1
            assert _run(settings.database_url, run_id).dispatched_at is not None
            assert reconcile_once(ctx) == {}  # sent once, not on every pass
        finally:
            broker.stop()


class TestWorker:
    def test_worker_killed_before_the_first_checkpoint_is_retried(
        self, fast: Settings, shared: Path, tiny_student: str, workers: list
    ) -> None:
        headers = _token(fast.database_url)
        with TestClient(create_app(fast)) as client:
            config = _config(client, headers, shared, fast.home / "data", tiny_student)
            workers.append(start_worker(fast, fast.home / "worker1.log"))
            run_id = client.post(API, headers=headers, json={"name": "r", "config": config}).json()[
                "id"
            ]
            wait_for(lambda: _run(fast.database_url, run_id).pid, 120, "the run to start")
            checkpoints = fast.storage / "runs" / run_id / "checkpoints"
            assert not list(checkpoints.glob("step-*/manifest.json"))
            os.kill(workers[0].pid, signal.SIGKILL)
            workers[0].wait()
            workers.append(start_worker(fast, fast.home / "worker2.log"))
            run = wait_for(
                lambda: (r := _run(fast.database_url, run_id)).status in TERMINAL and r,
                300,
                "the retried run to finish",
            )
        assert run.status == "succeeded" and run.attempt == 2, run.error
        assert any("lost" in m for m in _events(fast.database_url, run_id))

    def test_database_down_during_a_run_pauses_it(
        self, tmp_path: Path, shared: Path, tiny_student: str, workers: list
    ) -> None:
        with own_postgres() as postgres:
            url = postgres.database("studio")
            upgrade(url)
            settings = Settings(
                home=tmp_path / "home",
                database_url=url,
                broker_url=REDIS,
                queue=f"faults-{uuid.uuid4().hex[:8]}",
                heartbeat_s=0.5,
                lost_after_s=60,
                reconcile_every_s=1,
            )
            headers = _token(url)
            with TestClient(create_app(settings)) as client:
                config = _config(client, headers, shared, settings.home / "data", tiny_student)
                log = settings.home / "worker.log"
                workers.append(start_worker(settings, log))
                created = client.post(API, headers=headers, json={"name": "r", "config": config})
                run_id = created.json()["id"]
            wait_for(lambda: _run(url, run_id).pid, 120, "the run to start")
            postgres.stop()
            time.sleep(5)
            postgres.start()
            run = wait_for(
                lambda: (r := _run(url, run_id)).status in TERMINAL and r, 300, "the run to end"
            )
            assert run.status == "succeeded" and run.attempt == 1, run.error
            assert workers[0].poll() is None
            assert f"heartbeat of run {run_id} failed" in log.read_text()


class TestUp:
    def test_sigterm_of_up_stops_its_worker(self, tmp_path: Path, monkeypatch) -> None:
        monkeypatch.setenv("MIND_HOME", str(tmp_path))
        assert cli(["migrate"]) == 0
        port = free_port()
        up = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "up", "--port", str(port)],
            env=os.environ | {"HF_HUB_OFFLINE": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for(lambda: ready(f"http://127.0.0.1:{port}"), 180, "the studio")
            (worker,) = wait_for(lambda: children(up.pid), 30, "the worker process")
            up.send_signal(signal.SIGTERM)
            assert up.wait(timeout=60) != 0
            wait_for(lambda: not alive(worker), 30, "the worker to stop")
        finally:
            if up.poll() is None:
                os.killpg(up.pid, signal.SIGKILL)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs, filled up; skipped where this process may not mount."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        (mount / "storage").mkdir()
        with (mount / "ballast").open("wb") as ballast, pytest.raises(OSError):
            while True:
                ballast.write(b"\0" * 65536)
                ballast.flush()
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


class TestFullDisk:
    def test_a_checkpoint_on_a_full_disk_leaves_no_folder(
        self, full_disk: Path, tiny_student: str
    ) -> None:
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(tiny_student)
        root = full_disk / "checkpoints"
        with pytest.raises(OSError):
            checkpoint.save(root, 1, model, {"step": 1}, {}, keep=2)
        assert list(root.iterdir()) == []

    def test_an_upload_to_a_full_disk_is_507(
        self, full_disk: Path, settings: Settings, shared: Path, tmp_path: Path
    ) -> None:
        settings = settings.model_copy(update={"storage_dir": full_disk / "storage"})
        headers = _token(settings.database_url)
        questions, _ = svamp_files(shared, tmp_path / "data")
        with (
            TestClient(create_app(settings), raise_server_exceptions=False) as client,
            questions.open("rb") as handle,
        ):
            answer = client.post(
                "/api/v1/datasets",
                headers=headers,
                data={"kind": "questions"},
                files={"file": handle},
            )
        assert answer.status_code == 507, answer.text
        assert answer.json()["error"]["code"] == "storage_full"
        assert str(full_disk) not in answer.text
        assert [p for p in (full_disk / "storage").rglob("*") if p.is_file()] == []
