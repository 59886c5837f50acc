"""Studies through the API on real Postgres: validation, phases, budgets, cancel, resume.

No worker runs here: tasks go to a per-test Redis queue that is purged afterwards, and a
cell "finishes" by writing what a worker would (status, metric points) to its run row.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.results.models import MetricPoint
from app.runs.models import Run
from app.studies import service as studies
from tests.service.helpers import make_user, study_spec, svamp_files, upload

API = "/api/v1/studies"


@pytest.fixture
def spec(client: TestClient, session: Session, shared: Path, tmp_path: Path, tiny_student: str):
    """(headers, spec): a user, the small SVAMP files uploaded, sft against mind."""
    _, headers = make_user(session)
    questions, rationales = svamp_files(shared, tmp_path / "data")
    qid = upload(client, headers, questions, "questions")
    rid = upload(client, headers, rationales, "rationales")
    return headers, study_spec(tiny_student, qid, rid)


def _finish(session: Session, run_id: str, tokens_per_step: int) -> None:
    """What the worker leaves behind: a succeeded run with its trained-token count."""
    run = session.get(Run, run_id)
    steps = run.config["train"]["max_steps"]
    for step in range(1, steps + 1):
        session.add(MetricPoint(run_id=run_id, step=step, name="lr", value=1e-4))
    session.add(
        MetricPoint(
            run_id=run_id,
            step=steps,
            name="tokens_trained_total",
            value=tokens_per_step * steps,
        )
    )
    run.status, run.progress = "succeeded", 1.0
    session.flush()


def _advance(session: Session, study_id: str) -> None:
    studies.advance(session, studies.get(session, study_id))
    session.commit()


def _cells(client: TestClient, headers: dict, study_id: str) -> dict[tuple, dict]:
    body = client.get(f"{API}/{study_id}", headers=headers).json()
    return {(c["label"], c["budget"]): c for c in body["cells"]}


def _past_zero_shot(
    client: TestClient, session: Session, spec: tuple[dict, dict]
) -> tuple[dict, str, dict[tuple, dict]]:
    """A new study of `spec` whose zero-shot cell has finished and been advanced past:
    (headers, study id, its cells now)."""
    headers, body = spec
    study_id = client.post(API, headers=headers, json={"name": "s", "spec": body}).json()["id"]
    _finish(session, _cells(client, headers, study_id)["zero_shot", "steps"]["run_id"], 0)
    _advance(session, study_id)
    return headers, study_id, _cells(client, headers, study_id)


class TestCreate:
    def test_base_student_first_then_the_grid(self, client, spec) -> None:
        headers, body = spec
        created = client.post(API, headers=headers, json={"name": "s", "spec": body})
        assert created.status_code == 201, created.text
        study = created.json()
        assert study["status"] == "running"
        assert [m["label"] for m in study["spec"]["methods"]] == ["zero_shot", "sft", "mind"]
        assert study["spec"]["token_budget_reference"] == "sft"
        waiting = [c for c in study["cells"] if c["status"] == "waiting"]
        assert len(study["cells"]) == 6 and len(waiting) == 4
        base = {c["run_id"] for c in study["cells"] if c["label"] == "zero_shot"}
        assert len(base) == 1 and None not in base

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            pytest.param(
                lambda s: s["methods"][1].update(overrides={"train": {"lr": 0.1}}),
                "spec.methods.1.overrides.train.lr",
                id="unfair-override",
            ),
            pytest.param(
                lambda s: s["methods"][1].update(overrides={"mind": {"beta": 7}}),
                "spec.methods.1.overrides.mind.beta",
                id="bad-mind-value",
            ),
            pytest.param(
                lambda s: s["methods"].append({"method": "sft"}),
                "spec.methods.2.label",
                id="duplicate-label",
            ),
            pytest.param(lambda s: s.update(seeds=[1, 1]), "spec.seeds", id="duplicate-seed"),
            pytest.param(
                lambda s: s["config"]["train"].update(max_steps=0),
                "spec.config.train.max_steps",
                id="bad-shared-config",
            ),
            pytest.param(
                lambda s: s["config"]["data"].update(min_perspectives=4),
                "spec.config.data.min_perspectives",
                id="curation-keeps-no-question",
            ),
            pytest.param(
                lambda s: s["config"]["train"].update(max_seq_len=32),
                "spec.config.train.max_seq_len",
                id="prompt-longer-than-max-seq-len",
            ),
            pytest.param(
                lambda s: s.update(token_budget_reference="zero_shot"),
                "spec.token_budget_reference",
                id="reference-does-not-train",
            ),
            pytest.param(
                lambda s: s.update(methods=[{"method": "zero_shot"}]),
                "spec.methods",
                id="nothing-trains",
            ),
        ],
    )
    def test_bad_spec_names_the_field(self, client, spec, change, field) -> None:
        headers, body = spec
        change(body)
        answer = client.post(API, headers=headers, json={"name": "s", "spec": body})
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == field
        assert client.get(API, headers=headers).json()["total"] == 0

    def test_needs_a_token(self, client, spec) -> None:
        _, body = spec
        assert client.post(API, json={"name": "s", "spec": body}).status_code == 401
        assert client.get(API).status_code == 401


class TestPhases:
    def test_token_budget_from_measured_rates(self, client, session, spec) -> None:
        """sft trains 10 tokens a step, mind 4: at sft's budget mind gets more steps, while
        sft's own token cell is its step cell (the same run, not trained twice)."""
        headers, study_id, cells = _past_zero_shot(client, session, spec)
        assert cells["sft", "steps"]["status"] == "queued"
        assert cells["sft", "tokens"]["status"] == "waiting"
        _finish(session, cells["sft", "steps"]["run_id"], 10)
        _advance(session, study_id)
        assert _cells(client, headers, study_id)["mind", "tokens"]["status"] == "waiting"
        _finish(session, cells["mind", "steps"]["run_id"], 4)
        _advance(session, study_id)
        cells = _cells(client, headers, study_id)
        assert cells["sft", "tokens"]["run_id"] == cells["sft", "steps"]["run_id"]
        mind = cells["mind", "tokens"]
        assert mind["status"] == "queued" and mind["run_id"] != cells["mind", "steps"]["run_id"]
        # sft: 2 steps x 10 = 20 tokens = 5 joint steps of mind's 4 (5 x 10% warm-up rounds to 0)
        assert mind["max_steps"] == 5
        _advance(session, study_id)  # idempotent: nothing more is queued
        assert len({c["run_id"] for c in _cells(client, headers, study_id).values()}) == 4


class TestProgress:
    def test_a_running_token_cell_keeps_the_study_below_one(self, client, session, spec):
        """A run's progress is its stage's: a token-budget run at the end of a stage is not a
        finished cell, so the study reaches 1 only when that run has succeeded."""
        headers, study_id, cells = _past_zero_shot(client, session, spec)
        for label, rate in (("sft", 10), ("mind", 4)):
            _finish(session, cells[label, "steps"]["run_id"], rate)
        _advance(session, study_id)
        running = session.get(Run, _cells(client, headers, study_id)["mind", "tokens"]["run_id"])
        running.status, running.stage, running.progress = "running", "training", 1.0
        session.commit()
        study = client.get(f"{API}/{study_id}", headers=headers).json()
        assert (study["status"], study["progress"]) == ("running", pytest.approx(5.5 / 6))
        _finish(session, running.id, 4)
        session.commit()
        assert client.get(f"{API}/{study_id}", headers=headers).json()["progress"] == 1.0


class TestLifecycle:
    def test_cancel_then_resume_by_a_teammate_admin(self, client, session, spec) -> None:
        headers, body = spec
        study_id = client.post(API, headers=headers, json={"name": "s", "spec": body}).json()["id"]
        _, stranger = make_user(session)
        assert client.get(f"{API}/{study_id}", headers=stranger).status_code == 200  # team-visible
        refused = client.post(f"{API}/{study_id}/cancel", headers=stranger)
        assert refused.status_code == 403
        cancelled = client.post(f"{API}/{study_id}/cancel", headers=headers).json()
        assert cancelled["status"] == "cancelled"
        assert {c["status"] for c in cancelled["cells"]} == {"cancelled", "waiting"}
        _, admin = make_user(session, admin=True)
        resumed = client.post(f"{API}/{study_id}/resume", headers=admin)
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["status"] == "running"
        assert _cells(client, headers, study_id)["zero_shot", "steps"]["status"] == "queued"
        again = client.post(f"{API}/{study_id}/resume", headers=headers)
        assert again.status_code == 409

    def test_a_cell_run_cannot_be_deleted_from_under_its_study(self, client, spec) -> None:
        headers, body = spec
        study_id = client.post(API, headers=headers, json={"name": "s", "spec": body}).json()["id"]
        client.post(f"{API}/{study_id}/cancel", headers=headers)
        run_id = _cells(client, headers, study_id)["zero_shot", "steps"]["run_id"]
        refused = client.delete(f"/api/v1/runs/{run_id}", headers=headers)
        assert refused.status_code == 409, refused.text
        assert study_id in refused.json()["error"]["message"]
        assert client.get(f"/api/v1/runs/{run_id}", headers=headers).status_code == 200

    def test_results_before_any_cell_finished(self, client, spec) -> None:
        headers, body = spec
        study_id = client.post(API, headers=headers, json={"name": "s", "spec": body}).json()["id"]
        results = client.get(f"{API}/{study_id}/results", headers=headers).json()
        assert results["budgets"]["steps"]["methods"] == []
        assert client.get(f"{API}/nope/results", headers=headers).status_code == 404
