"""End to end with real processes: Postgres, Redis and `mind-studio worker` processes.

Submit a small run and see every result land in the database; cancel a running run and
see its process gone; kill -9 a worker mid-run and see the run resumed, not stuck.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.settings import Settings
from app.users import service as users
from tests.service.helpers import REDIS, run_config, start_worker, svamp_files, upload, wait_for

API = "/api/v1/runs"


@pytest.fixture(scope="module")
def e2e(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, Path]]:
    """Committed data in a database of its own, and fast supervision timings."""
    home = tmp_path_factory.mktemp("e2e")
    settings = Settings(
        home=home,
        database_url=new_database(),
        broker_url=REDIS,
        queue=f"e2e-{os.getpid()}",
        heartbeat_s=0.5,
        lost_after_s=3,
        reconcile_every_s=1,
        cancel_grace_s=5,
    )
    yield settings, home


@pytest.fixture(scope="module")
def api(e2e, shared: Path, tiny_student: str) -> Iterator[tuple[TestClient, dict, dict]]:
    settings, home = e2e
    with make_sessionmaker(make_engine(settings.database_url)).begin() as session:
        user = users.create_user(session, "e2e@team.test", "password1", True)
        _, token = users.create_token(session, user)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as client:
        questions, rationales = svamp_files(shared, home / "data")
        qid = upload(client, headers, questions, "questions")
        rid = upload(client, headers, rationales, "rationales")
        yield client, headers, run_config(tiny_student, qid, rid)


@pytest.fixture(scope="module")
def worker(e2e) -> Iterator[subprocess.Popen]:
    settings, home = e2e
    process = start_worker(settings, home / "worker.log")
    yield process
    process.terminate()
    process.wait(timeout=30)


def submit(client: TestClient, headers: dict, config: dict, **train: int) -> str:
    config = {**config, "train": {**config["train"], **train}}
    response = client.post(API, headers=headers, json={"name": "e2e", "config": config})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def status(client: TestClient, headers: dict, run_id: str) -> dict:
    return client.get(f"{API}/{run_id}", headers=headers).json()


def finished(client: TestClient, headers: dict, run_id: str) -> dict | None:
    run = status(client, headers, run_id)
    return run if run["status"] in ("succeeded", "failed", "cancelled") else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes: it runs nothing.
    return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


class TestWorker:
    def test_small_run_succeeds_with_every_result(self, api, worker) -> None:
        client, headers, config = api
        run_id = submit(client, headers, config, save_every=2)
        run = wait_for(lambda: finished(client, headers, run_id), 240, "the run to finish")
        assert run["status"] == "succeeded", run
        get = lambda part: client.get(f"{API}/{run_id}/{part}", headers=headers).json()  # noqa: E731
        metrics = get("metrics")
        assert metrics["loss"]["steps"] == [1, 2, 3]
        assert set(get("weights")) == {"formal_symbolic", "decomposition", "other:standard_cot"}
        assert {(e["model"], e["benchmark"]) for e in get("evaluations")} == {
            ("trained", "svamp"),
            ("base", "svamp"),
        }
        latent = get("latent")
        assert {a["model"] for a in latent} == {"trained", "base"} and latent[0]["points"]
        assert [c["step"] for c in get("checkpoints")] == [2, 3]
        assert {a["name"] for a in get("artifacts")} == {"adapter", "report"}
        predictions = get("evaluations/svamp/predictions")
        assert len(predictions) == 2 and {"prediction", "correct"} <= set(predictions[0])
        download = client.get(f"{API}/{run_id}/artifacts/adapter", headers=headers)
        assert download.status_code == 200 and download.content[:2] == b"PK"

    def test_cancel_stops_the_child_process(self, api, worker) -> None:
        client, headers, config = api
        run_id = submit(client, headers, config, max_steps=5000, save_every=5000)
        run = wait_for(
            lambda: (r := status(client, headers, run_id))["stage"] == "training" and r,
            120,
            "training to start",
        )
        pid = run["pid"]
        assert pid and alive(pid)
        assert client.post(f"{API}/{run_id}/cancel", headers=headers).json()["status"] in (
            "cancelling",
            "cancelled",
        )
        run = wait_for(lambda: finished(client, headers, run_id), 60, "the cancel")
        assert run["status"] == "cancelled" and not alive(pid)


class TestLostWorker:
    def test_kill_9_worker_mid_run_is_resumed(self, api, worker, e2e) -> None:
        """The child dies with its worker; another worker's reconciler resumes the run."""
        client, headers, config = api
        settings, home = e2e
        run_id = submit(client, headers, config, max_steps=5000, save_every=1)
        wait_for(
            lambda: client.get(f"{API}/{run_id}/checkpoints", headers=headers).json(),
            120,
            "a checkpoint",
        )
        child = status(client, headers, run_id)["pid"]
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        wait_for(lambda: not alive(child), 10, "the orphaned run process to die")
        replacement = start_worker(settings, home / "worker2.log")
        try:
            run = wait_for(
                lambda: (
                    (r := status(client, headers, run_id))["attempt"] == 2
                    and r["status"] == "running"
                    and r
                ),
                90,
                "the run to resume on the new worker",
            )
            events = client.get(f"{API}/{run_id}/events", headers=headers).json()
            assert any("lost" in e["message"] for e in events)
            assert run["pid"] != child
            client.post(f"{API}/{run_id}/cancel", headers=headers)
            run = wait_for(lambda: finished(client, headers, run_id), 60, "the cancel")
            assert run["status"] == "cancelled"
        finally:
            replacement.terminate()
            replacement.wait(timeout=30)
