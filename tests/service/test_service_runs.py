"""Run submission and lifecycle through the API, and the reconciler, on real Postgres.

No worker runs here: tasks go to a per-test Redis queue that is purged afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db import utcnow
from app.runs.models import Run
from app.settings import Settings
from tests.service.helpers import make_user, run_config, svamp_files, upload
from worker.reconciler import reconcile

API = "/api/v1/runs"


@pytest.fixture
def submit(client: TestClient, session: Session, shared: Path, tmp_path: Path, tiny_student: str):
    """Upload the small SVAMP files once; return (headers, config builder)."""
    _, headers = make_user(session)
    questions, rationales = svamp_files(shared, tmp_path / "data")
    qid = upload(client, headers, questions, "questions")
    rid = upload(client, headers, rationales, "rationales")
    return headers, lambda: run_config(tiny_student, qid, rid)


class TestCreate:
    def test_valid_config_is_queued_with_a_frozen_snapshot(
        self, client: TestClient, submit, settings: Settings
    ) -> None:
        headers, config = submit
        response = client.post(API, headers=headers, json={"name": "r1", "config": config()})
        assert response.status_code == 201, response.text
        run = response.json()
        assert run["status"] == "queued" and run["attempt"] == 1
        assert run["config"]["train"]["lr"] == 2e-4  # a default, filled in
        assert set(run["data_hashes"]) == {"questions", "rationales", "benchmark:svamp"}
        queued = client.app.state.celery.connection_for_write().default_channel.client.llen(
            settings.queue
        )
        assert queued == 1

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            pytest.param(
                lambda c: c["train"].update(max_steps=0), "config.train.max_steps", id="range"
            ),
            pytest.param(lambda c: c.update(method="magic"), "config.method", id="method"),
            pytest.param(
                lambda c: c["data"].update(rationales="nope"),
                "config.data.rationales",
                id="no-dataset",
            ),
            pytest.param(
                lambda c: c["data"].update(rationales=c["data"]["questions"]),
                "config.data.rationales",
                id="wrong-kind",
            ),
            pytest.param(
                lambda c: c["eval"]["benchmarks"][0].update(dataset=None, path="/etc/passwd"),
                "config.eval.benchmarks.0.path",
                id="server-path",
            ),
            pytest.param(
                lambda c: c.update(perspectives=["telepathy"]),
                "config.perspectives",
                id="perspective",
            ),
            pytest.param(
                lambda c: c.update(student="/no/such/model"), "config.student", id="student"
            ),
        ],
    )
    def test_bad_config_is_422_with_the_field(
        self, client: TestClient, submit, change, field: str
    ) -> None:
        headers, config = submit
        raw = config()
        change(raw)
        response = client.post(API, headers=headers, json={"name": "bad", "config": raw})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == field


class TestLifecycle:
    def test_list_filters_and_pages(self, client: TestClient, submit, session: Session) -> None:
        headers, config = submit
        ids = [
            client.post(API, headers=headers, json={"name": f"r{i}", "config": config()}).json()[
                "id"
            ]
            for i in range(3)
        ]
        client.post(f"{API}/{ids[0]}/cancel", headers=headers)
        page = client.get(API, headers=headers, params={"limit": 2}).json()
        assert page["total"] == 3 and [r["id"] for r in page["items"]] == ids[::-1][:2]
        cancelled = client.get(API, headers=headers, params={"status": "cancelled"}).json()
        assert [r["id"] for r in cancelled["items"]] == [ids[0]]
        dataset = client.get(f"{API}/{ids[1]}", headers=headers).json()["config"]["data"][
            "rationales"
        ]
        by_data = client.get(API, headers=headers, params={"dataset": dataset, "method": "mind"})
        assert by_data.json()["total"] == 3
        assert client.get(API, headers=headers, params={"status": ""}).json()["total"] == 3
        bogus = client.get(API, headers=headers, params={"status": "bogus"})
        assert bogus.status_code == 422 and bogus.json()["error"]["field"].endswith("status")

    def test_others_read_but_cannot_change(
        self, client: TestClient, submit, session: Session
    ) -> None:
        headers, config = submit
        _, other = make_user(session)
        _, admin = make_user(session, admin=True)
        run_id = client.post(API, headers=headers, json={"name": "r", "config": config()}).json()[
            "id"
        ]
        assert client.get(f"{API}/{run_id}", headers=other).status_code == 200
        assert client.delete(f"{API}/{run_id}", headers=other).status_code == 403
        assert client.post(f"{API}/{run_id}/cancel", headers=other).status_code == 403
        assert client.delete(f"{API}/{run_id}", headers=admin).status_code == 204
        assert client.get(f"{API}/{run_id}", headers=headers).status_code == 404

    def test_no_delete_while_running_and_no_resume_without_checkpoint(
        self, client: TestClient, submit, session: Session
    ) -> None:
        headers, config = submit
        run_id = client.post(API, headers=headers, json={"name": "r", "config": config()}).json()[
            "id"
        ]
        session.get(Run, run_id).status = "running"
        session.commit()
        assert client.delete(f"{API}/{run_id}", headers=headers).status_code == 409
        assert client.post(f"{API}/{run_id}/resume", headers=headers).status_code == 409
        cancel = client.post(f"{API}/{run_id}/cancel", headers=headers).json()
        assert cancel["status"] == "cancelling"

    def test_clone_applies_overrides_to_the_frozen_config(self, client: TestClient, submit) -> None:
        headers, config = submit
        source = client.post(API, headers=headers, json={"name": "r", "config": config()}).json()
        body = {"overrides": {"train": {"max_steps": 5}}}
        clone = client.post(f"{API}/{source['id']}/clone", headers=headers, json=body).json()
        assert clone["parent_id"] == source["id"] and clone["config"]["train"]["max_steps"] == 5
        assert clone["config"]["train"]["lr"] == source["config"]["train"]["lr"]
        bad = client.post(
            f"{API}/{source['id']}/clone", headers=headers, json={"overrides": {"seed": "x"}}
        )
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "config.seed"

    def test_events_list(self, client: TestClient, submit) -> None:
        headers, config = submit
        run_id = client.post(API, headers=headers, json={"name": "r", "config": config()}).json()[
            "id"
        ]
        events = client.get(f"{API}/{run_id}/events", headers=headers).json()
        assert [e["message"] for e in events] == ["queued (attempt 1)"]

    def test_events_stream_as_sse_until_the_run_ends(self, client: TestClient, submit) -> None:
        """A finished run's stream replays its log, sends its state and closes."""
        headers, config = submit
        run_id = client.post(API, headers=headers, json={"name": "r", "config": config()}).json()[
            "id"
        ]
        client.post(f"{API}/{run_id}/cancel", headers=headers)
        sse = {**headers, "Accept": "text/event-stream"}
        with client.stream("GET", f"{API}/{run_id}/events", headers=sse) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            body = "".join(response.iter_text())
        assert body.count("event: status") == 2 and "id: " in body
        assert 'event: state\ndata: {"status": "cancelled"' in body

    def test_page_stream_names_every_log_event_log(
        self, client: TestClient, submit, session: Session
    ) -> None:
        """The run page's stream (cookie session): log kinds become `log`, state stays."""
        headers, config = submit
        run_id = client.post(API, headers=headers, json={"name": "r", "config": config()}).json()[
            "id"
        ]
        client.post(f"{API}/{run_id}/cancel", headers=headers)
        user, _ = make_user(session)
        login = {"email": user.email, "password": "password1"}
        assert client.post("/login", data=login, follow_redirects=False).status_code == 303
        assert client.get("/runs/nope/stream").status_code == 404
        with client.stream("GET", f"/runs/{run_id}/stream") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            body = "".join(response.iter_text())
        assert body.count("event: log\n") == 2 and "event: status" not in body
        assert '"kind":"status"' in body and "id: " in body
        assert 'event: state\ndata: {"status": "cancelled"' in body


class TestReconcile:
    def _lost(self, client: TestClient, submit, session: Session) -> Run:
        headers, config = submit
        run_id = client.post(API, headers=headers, json={"name": "r", "config": config()}).json()[
            "id"
        ]
        run = session.get(Run, run_id)
        run.status, run.worker, run.heartbeat_at = "running", "gone:1", utcnow()
        run.heartbeat_at = run.heartbeat_at.replace(year=2000)
        session.flush()
        return run

    def test_lost_run_without_checkpoint_restarts_while_attempts_remain(
        self, client: TestClient, submit, session: Session, settings: Settings
    ) -> None:
        run = self._lost(client, submit, session)
        assert reconcile(session, settings) == {run.id: "queued"}
        assert run.attempt == 2 and not run.resume and run.dispatched_at is None

    def test_lost_run_on_its_last_attempt_fails_with_reason(
        self, client: TestClient, submit, session: Session, settings: Settings
    ) -> None:
        run = self._lost(client, submit, session)
        run.attempt = settings.max_attempts
        assert reconcile(session, settings) == {run.id: "failed"}
        assert "lost" in (run.error or "") and "no checkpoint" in (run.error or "")

    def test_lost_run_with_checkpoint_is_requeued_to_resume(
        self, client: TestClient, submit, session: Session, settings: Settings
    ) -> None:
        run = self._lost(client, submit, session)
        step = settings.storage / run.directory / "checkpoints" / "step-2"
        step.mkdir(parents=True)
        (step / "manifest.json").write_text("{}")
        assert reconcile(session, settings) == {run.id: "queued"}
        assert run.attempt == 2 and run.resume

    def test_live_run_is_left_alone(
        self, client: TestClient, submit, session: Session, settings: Settings
    ) -> None:
        run = self._lost(client, submit, session)
        run.heartbeat_at = utcnow()
        assert reconcile(session, settings) == {}
