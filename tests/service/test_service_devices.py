"""Devices and queues on real Postgres, Redis and worker processes.

Workers advertise their device class and count (`workers` table) and consume the shared
queue plus `Q.<class>.1..N`; a submitted run is routed to a queue that only workers owning
enough devices read, or refused with 422 naming `train.devices`; the reconciler re-queues
through the same routing; a worker started with 2 CPU devices runs a 2-device run as 2
torchrun ranks. Adverts are written with the function the worker itself calls.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import make_engine, make_sessionmaker, utcnow
from app.main import create_app
from app.progress.queue import queue_place
from app.runs.models import Run, RunEvent
from app.settings import Settings
from app.users import service as users
from app.workers import service as workers
from app.workers.models import Worker
from app.workers.service import Devices
from tests.service.helpers import (
    REDIS,
    make_user,
    run_config,
    start_worker,
    svamp_files,
    upload,
    wait_for,
)
from tests.service.processes import alive, children
from worker import devices as detection
from worker.reconciler import reconcile
from worker.supervisor import child_command

API = "/api/v1/runs"


def _redis(client: TestClient):
    return client.app.state.celery.connection_for_write().default_channel.client


@pytest.fixture
def submit(
    client: TestClient, session: Session, shared: Path, tmp_path: Path, tiny_student: str
) -> Iterator[Callable[..., object]]:
    """POST a small run with these `train` overrides; the class queues are emptied after."""
    _, headers = make_user(session)
    questions, rationales = svamp_files(shared, tmp_path / "data")
    qid = upload(client, headers, questions, "questions")
    rid = upload(client, headers, rationales, "rationales")

    def post(**train: object):
        config = run_config(tiny_student, qid, rid)
        even = {"questions_per_batch": max(2, int(train.get("devices", 1)))}
        config["train"].update(even | train)

        return client.post(API, headers=headers, json={"name": "d", "config": config})

    post.headers = headers  # type: ignore[attr-defined]
    yield post
    redis = _redis(client)
    for key in redis.keys(f"{client.app.state.settings.queue}.*"):
        redis.delete(key)


def _advertise(session: Session, settings: Settings, name: str, owned: Devices, age_s=0.0):
    workers.advertise(session, name, owned, workers.queues_of(settings.queue, owned))
    session.get(Worker, name).last_seen = utcnow() - timedelta(seconds=age_s)
    session.commit()


def _lose_and_reconcile(client: TestClient, session: Session, settings: Settings, run: Run):
    """Make `run` a running run whose worker went silent an hour ago, reconcile, reload it."""
    run_id = run.id  # read before the commit expires it: `session` must stay idle below
    run.status, run.heartbeat_at = "running", utcnow() - timedelta(hours=1)
    session.commit()
    with client.app.state.sessionmaker() as reconciling:
        assert reconcile(reconciling, settings) == {run_id: "queued"}
        reconciling.commit()
    session.refresh(run)


def _queued(client: TestClient, queue: str) -> int:
    return _redis(client).llen(queue)


class TestRouting:
    def test_before_any_advert_one_device_is_queued_and_more_refused(
        self, client: TestClient, submit, settings: Settings
    ) -> None:
        assert submit().status_code == 201
        assert _queued(client, settings.queue) == 1
        refused = submit(devices=2)
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert error["field"] == "config.train.devices"
        assert "train.devices is 2 but no worker has advertised" in error["message"]

    def test_more_devices_than_the_largest_worker_is_refused_naming_it(
        self, client: TestClient, submit, session: Session, settings: Settings
    ) -> None:
        _advertise(session, settings, "a:1", Devices("cpu", 1))
        _advertise(session, settings, "b:1", Devices("cuda-h200", 2))
        refused = submit(devices=4)
        assert refused.status_code == 422
        assert refused.json()["error"] == {
            "code": "invalid",
            "field": "config.train.devices",
            "message": "train.devices is 4 but the largest worker advertises 2 devices (cuda-h200)",
        }
        uneven = submit(devices=4, questions_per_batch=2)  # also invalid, but unroutable first
        assert uneven.json()["error"]["field"] == "config.train.devices"
        cpu = submit(devices=2, device="cpu")
        assert cpu.status_code == 422
        assert "the largest worker advertises 1 device (cpu)" in cpu.json()["error"]["message"]

    def test_runs_go_to_the_queue_of_workers_that_fit(
        self, client: TestClient, submit, session: Session, settings: Settings
    ) -> None:
        _advertise(session, settings, "cpu:1", Devices("cpu", 1))
        _advertise(session, settings, "h200:1", Devices("cuda-h200", 8))
        _advertise(session, settings, "a10:1", Devices("cuda-a10", 2))
        expected = {
            (1, "auto"): settings.queue,  # every worker can take it
            (1, "cpu"): f"{settings.queue}.cpu.1",
            (1, "cuda"): f"{settings.queue}.cuda-a10.1",  # the smallest that fits
            (2, "auto"): f"{settings.queue}.cuda-a10.2",
            (4, "cuda:0"): f"{settings.queue}.cuda-h200.4",
        }
        for (n, device), queue in expected.items():
            created = submit(devices=n, device=device)
            assert created.status_code == 201, created.text
            assert session.get(Run, created.json()["id"]).queue == queue
            assert _queued(client, queue) == 1, (n, device, queue)
        detail = client.get(f"{API}/{created.json()['id']}", headers=submit.headers).json()
        assert detail["queue"] == f"{settings.queue}.cuda-h200.4"

        # What each advertised worker consumes: a 4-device run only reaches the H200s.

        h200 = session.get(Worker, "h200:1")
        assert f"{settings.queue}.cuda-h200.4" in h200.queues
        assert f"{settings.queue}.cuda-a10.4" not in session.get(Worker, "a10:1").queues

    def test_a_queued_run_s_place_counts_in_its_own_queue(
        self, submit, session: Session, settings: Settings
    ) -> None:
        _advertise(session, settings, "cpu:1", Devices("cpu", 1))
        _advertise(session, settings, "h200:1", Devices("cuda-h200", 8))
        ids = [submit(devices=n).json()["id"] for n in (1, 4, 1, 4)]
        runs = [session.get(Run, run_id) for run_id in ids]
        for k, run in enumerate(runs):
            run.queued_at = utcnow() + timedelta(seconds=k)
        session.commit()
        assert [queue_place(session, run) for run in runs] == [1, 1, 2, 2]

    def test_stale_adverts_do_not_count(
        self, client: TestClient, submit, session: Session, settings: Settings
    ) -> None:
        _advertise(session, settings, "old:1", Devices("cuda-h200", 8), age_s=10_000)
        assert submit(devices=2).status_code == 422
        _advertise(session, settings, "new:1", Devices("cuda-h200", 8))
        assert submit(devices=2).status_code == 201

    def test_a_device_kind_no_worker_has_is_refused(
        self, client: TestClient, submit, session: Session, settings: Settings
    ) -> None:
        _advertise(session, settings, "cpu:1", Devices("cpu", 1))
        refused = submit(device="cuda")
        assert refused.status_code == 422
        assert refused.json()["error"]["field"] == "config.train.device"


class TestFleetAndReconciler:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"fleet": {"cuda-h200": 4}})

    def test_the_declared_fleet_counts_before_its_workers_advertise(
        self, client: TestClient, submit, settings: Settings
    ) -> None:
        created = submit(devices=4)
        assert created.status_code == 201, created.text
        assert _queued(client, f"{settings.queue}.cuda-h200.4") == 1
        assert submit(devices=8).status_code == 422

    def test_a_lost_run_is_requeued_through_the_same_routing(
        self, client: TestClient, submit, session: Session, settings: Settings
    ) -> None:
        run_id = submit(devices=2).json()["id"]
        queue = f"{settings.queue}.cuda-h200.2"
        assert _queued(client, queue) == 1
        run = session.get(Run, run_id)
        _lose_and_reconcile(client, session, settings, run)
        assert run.attempt == 2 and run.queue == queue


class TestRequeueWithoutCapacity:
    def test_the_last_queue_is_kept_with_a_warning(
        self, client: TestClient, submit, session: Session, settings: Settings
    ) -> None:
        _advertise(session, settings, "h200:1", Devices("cuda-h200", 2))
        run_id = submit(devices=2).json()["id"]
        session.get(Worker, "h200:1").last_seen = utcnow() - timedelta(hours=1)
        run = session.get(Run, run_id)
        _lose_and_reconcile(client, session, settings, run)
        assert run.queue == f"{settings.queue}.cuda-h200.2"
        warnings = session.scalars(
            select(RunEvent.message).where(RunEvent.run_id == run_id, RunEvent.kind == "warning")
        ).all()
        assert any("kept in queue" in w for w in warnings)


class TestWorkerSide:
    def test_the_child_is_a_torchrun_command_for_several_devices(self) -> None:
        assert child_command("r1", 1, 42) == [sys.executable, "-m", "worker.child", "r1", "42"]
        torchrun = child_command("r1", 2, 42)
        assert torchrun[:3] == [sys.executable, "-m", "torch.distributed.run"]
        assert torchrun[3:6] == ["--standalone", "--nproc-per-node", "2"]
        assert torchrun[6:] == ["-m", "worker.child", "r1", "42"]

    def test_gpu_names_become_device_classes(self) -> None:
        assert detection.normalise("NVIDIA H200") == "cuda-h200"
        assert detection.normalise("NVIDIA GeForce RTX 4090") == "cuda-geforce-rtx-4090"
        assert detection.normalise("NVIDIA A100-SXM4-80GB") == "cuda-a100-sxm4-80gb"

    def test_visible_devices_filter_like_cuda(self, monkeypatch: pytest.MonkeyPatch) -> None:
        rows = [("0", "GPU-aa", "NVIDIA H200"), ("1", "GPU-bb", "NVIDIA H200")]
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
        assert detection._visible(rows) == [rows[1]]
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-aa,7,1")
        assert detection._visible(rows) == [rows[0]]  # CUDA stops at the unknown one
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
        assert detection._visible(rows) == []


@pytest.fixture(scope="module")
def fleet(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, subprocess.Popen]]:
    """Committed data in a database of its own; a worker advertising 2 CPU devices."""
    home = tmp_path_factory.mktemp("devices")
    settings = Settings(
        home=home,
        database_url=new_database(),
        broker_url=REDIS,
        queue=f"devices-{uuid.uuid4().hex[:8]}",
        heartbeat_s=0.5,
        lost_after_s=3,
        reconcile_every_s=1,
        worker_devices=2,
        worker_device_class="cpu",
    )
    worker = start_worker(settings, home / "worker.log")
    yield settings, worker
    if worker.poll() is None:
        worker.terminate()
        worker.wait(timeout=60)


@pytest.fixture(scope="module")
def team(fleet, shared: Path, tiny_student: str) -> Iterator[tuple[TestClient, dict, dict]]:
    """(client, headers, a 2-rank full fine-tuning config on CPU) once the worker is up."""
    settings, _ = fleet
    factory = make_sessionmaker(make_engine(settings.database_url))
    with factory.begin() as session:
        user = users.create_user(session, "ranks@team.test", "password1", True)
        _, token = users.create_token(session, user)

    def advertised() -> bool:
        with factory() as session:
            return session.scalars(select(Worker)).first() is not None

    wait_for(advertised, 120, "the worker's advert")  # before it, 2 devices are refused
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as client:
        questions, rationales = svamp_files(shared, settings.home / "data")
        config = run_config(
            tiny_student,
            upload(client, headers, questions, "questions"),
            upload(client, headers, rationales, "rationales"),
        )
        config["train"].update(
            devices=2, device="cpu", finetune="full", questions_per_batch=2, dtype="float32"
        )
        yield client, headers, config


def _post(client: TestClient, headers: dict, config: dict, **train: int) -> str:
    config = {**config, "train": {**config["train"], **train}}
    created = client.post(API, headers=headers, json={"name": "2", "config": config})
    assert created.status_code == 201, created.text
    return created.json()["id"]


class TestTwoRanksThroughTheWorker:
    def test_a_two_device_run_trains_as_two_ranks_and_reports_once(self, fleet, team) -> None:
        settings, _ = fleet
        client, headers, config = team
        factory = make_sessionmaker(make_engine(settings.database_url))
        with factory() as session:
            worker = session.scalars(select(Worker)).one()
        assert (worker.device_class, worker.devices) == ("cpu", 2)
        assert worker.queues == [
            settings.queue,
            f"{settings.queue}.cpu.1",
            f"{settings.queue}.cpu.2",
        ]
        run_id = _post(client, headers, config)

        def finished() -> dict | None:
            run = client.get(f"{API}/{run_id}", headers=headers).json()
            return run if run["status"] in ("succeeded", "failed", "cancelled") else None

        run = wait_for(finished, 400, "the 2-rank run")
        log = settings.storage / "runs" / run_id / "child.log"
        assert run["status"] == "succeeded", (run, log.read_text()[-3000:])
        get = lambda part: client.get(f"{API}/{run_id}/{part}", headers=headers).json()  # noqa: E731
        assert get("metrics")["loss"]["steps"] == [1, 2, 3]  # one point a step, not a rank
        assert [c["step"] for c in get("checkpoints")] == [3]
        assert {e["model"] for e in get("evaluations")} == {"trained", "base"}
        assert (settings.storage / "runs" / run_id / "checkpoints/step-3/model").is_dir()
        with factory() as session:
            assert session.get(Run, run_id).queue == f"{settings.queue}.cpu.2"

    def test_the_ranks_die_with_a_killed_worker(self, fleet, team) -> None:
        """kill -9 of the worker: torchrun's agent is orphaned, but its ranks exit (they
        watch the supervisor), and then the agent with them. Runs last in this module."""
        worker = fleet[1]
        client, headers, config = team
        run_id = _post(client, headers, config, max_steps=5000, save_every=5000)

        run = wait_for(
            lambda: (
                (r := client.get(f"{API}/{run_id}", headers=headers).json())["stage"] == "training"
                and r
            ),
            180,
            "training to start",
        )
        agent = run["pid"]
        ranks = wait_for(lambda: len(children(agent)) == 2 and children(agent), 60, "2 ranks")
        worker.kill()
        worker.wait()
        wait_for(lambda: not any(alive(p) for p in [agent, *ranks]), 60, "the ranks to exit")
