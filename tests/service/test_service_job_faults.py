"""Teacher jobs and downloads whose worker dies are never stuck: the reconciler re-queues
them while they have attempts left (`worker.jobs`), and a second worker finishes them."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db import make_engine, make_sessionmaker, utcnow
from app.main import create_app
from app.queue import DOWNLOAD_MODEL
from app.settings import Settings
from app.students.models import RegisteredModel
from app.teachers.models import TeacherJob
from app.users import service as users
from tests.openai_server import ChatServer
from tests.service.helpers import make_user, start_worker, svamp_files, upload, wait_for
from worker import jobs

API = "/api/v1"
HOLD_S = 60.0  # longest a held teacher request waits for release


class TestRecover:
    def _download(self, session: Session, status: str, beat_s_ago: float, attempts: int):
        user, _ = make_user(session)
        row = RegisteredModel(
            name=f"org/m-{uuid.uuid4().hex[:6]}", source="hub", owner_id=user.id, status=status
        )
        row.heartbeat_at = utcnow() - timedelta(seconds=beat_s_ago)
        row.attempts = attempts
        session.add(row)
        session.flush()
        return row

    def test_a_download_whose_worker_stopped_is_queued_again_and_its_task_resent(
        self, session: Session, settings: Settings
    ) -> None:
        lost = self._download(session, "downloading", settings.lost_after_s + 1, attempts=1)
        alive = self._download(session, "downloading", 1, attempts=1)
        assert jobs.recover(session, settings) == {lost.id: "queued"}
        assert (lost.status, lost.heartbeat_at, alive.status) == ("queued", None, "downloading")
        assert [task[:2] for task in session.info["pending_tasks"]] == [
            (DOWNLOAD_MODEL, (lost.id,))
        ]

    def test_after_max_attempts_it_fails_with_the_reason(
        self, session: Session, settings: Settings
    ) -> None:
        row = self._download(session, "downloading", 1e4, attempts=settings.max_attempts)
        assert jobs.recover(session, settings) == {row.id: "failed"}
        assert row.finished_at is not None
        assert row.error == (
            f"its worker stopped: no heartbeat for {settings.lost_after_s:g}s, "
            f"{settings.max_attempts} times"
        )
        assert "pending_tasks" not in session.info


class StallingTeacher:
    """A teacher that answers its first `ANSWERED` requests, then holds every later one
    until `release()`: the job is certainly mid-way when the test kills its worker."""

    ANSWERED = 2

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.server = ChatServer(self.respond)

    def respond(self, messages: list[dict[str, str]], body: dict) -> str:
        with self._lock:
            self.calls += 1
            held = self.calls > self.ANSWERED
        if held:
            self._released.wait(HOLD_S)
        return "Working it out step by step.\nThe answer is 7."

    def release(self) -> None:
        self._released.set()


def test_a_teacher_job_whose_worker_is_killed_is_finished_by_another(
    fast: Settings, shared: Path, workers: list[subprocess.Popen]
) -> None:
    factory = make_sessionmaker(make_engine(fast.database_url))
    with factory.begin() as session:
        user = users.create_user(session, "jobs@team.test", "password1", True)
        _, token = users.create_token(session, user)
    headers = {"Authorization": f"Bearer {token}"}
    teacher = StallingTeacher()
    with TestClient(create_app(fast)) as client, teacher.server as server:
        questions, _ = svamp_files(shared, fast.home / "data")
        body = {
            "name": "interrupted",
            "questions": upload(client, headers, questions, "questions"),
            "perspectives": ["formal_symbolic", "planning"],
            "max_questions": 6,
            "teacher": {"model": "slow-teacher", "base_url": server.base_url},
        }
        workers.append(start_worker(fast, fast.home / "worker1.log"))
        job_id = client.post(f"{API}/teacher-jobs", headers=headers, json=body).json()["id"]
        wait_for(lambda: teacher.calls > teacher.ANSWERED, 120, "the job to be under way")
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].wait()
        teacher.release()
        with factory() as session:
            assert session.get(TeacherJob, job_id).status == "running"  # the dead worker's
        workers.append(start_worker(fast, fast.home / "worker2.log"))

        def finished() -> dict | None:
            job = client.get(f"{API}/teacher-jobs/{job_id}", headers=headers).json()
            return job if job["status"] in ("succeeded", "failed", "cancelled") else None

        job = wait_for(finished, 180, "the re-queued job to finish")
    assert job["status"] == "succeeded", job
    assert job["report"]["totals"]["requested"] == 12
    with factory() as session:
        assert session.get(TeacherJob, job_id).attempts == 2
    assert "recovered teacher jobs" in (fast.home / "worker2.log").read_text()
