"""The pre-flight counts exactly what training will train on, for every kind of method."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.preflight.service import preflight
from app.runs.config import check, execution_config
from app.settings import Settings
from mind.training_data import load_training_data
from tests.service.helpers import make_user, run_config, svamp_files, upload


@pytest.fixture
def uploaded(client: TestClient, session: Session, shared: Path, tmp_path: Path) -> tuple[str, str]:
    _, headers = make_user(session)
    questions, rationales = svamp_files(shared, tmp_path / "data")
    return (
        upload(client, headers, questions, "questions"),
        upload(client, headers, rationales, "rationales"),
    )


@pytest.mark.parametrize(
    ("method", "train"),
    [
        ("mind", {}),
        ("specialist", {"specialist_perspective": "decomposition"}),
        ("sft", {"sft_perspective": "other:standard_cot"}),
    ],
)
def test_preflight_keeps_what_training_trains_on(
    session: Session, settings: Settings, uploaded: tuple[str, str], method: str, train: dict
) -> None:
    raw = run_config("smollm2-135m-instruct", *uploaded)
    raw["method"] = method
    raw["data"]["max_questions"] = None
    raw["train"] |= train
    checked = check(session, raw)

    summary = preflight(session, settings, checked)
    trained = load_training_data(execution_config(session, settings, checked.config.frozen()))

    assert summary.kept_questions == len(trained.examples) > 0
    assert summary.sequences_per_epoch == sum(len(e.rationales) for e in trained.examples)
    assert set(summary.per_perspective) <= set(trained.perspectives)
    if method == "specialist":
        assert set(summary.per_perspective) == {"decomposition"}
        assert {p for e in trained.examples for p in e.rationales} == {"decomposition"}


def test_preflight_api_counts_teacher_prompts_from_the_file_and_names_its_sources(
    client: TestClient, session: Session, uploaded: tuple[str, str]
) -> None:
    """3 perspectives x the first 4 questions = 12 prompts (not the file's 20 x 3); with no
    run of this student yet, the throughput is assumed and the evaluation time unknown."""
    _, headers = make_user(session)
    questions, _ = uploaded
    raw = run_config("smollm2-135m-instruct", questions, "unused")
    del raw["data"]["rationales"]
    raw["teacher"] = {"model": "any", "base_url": "http://127.0.0.1:9/v1"}
    answer = client.post("/api/v1/runs/preflight", headers=headers, json={"config": raw})
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    assert summary["to_generate"] == 12 and summary["questions_in"] == 4
    assert summary["throughput_source"].startswith("assumed")
    assert summary["eval_seconds"] is None and summary["eval_source"].startswith("unknown")
    raw["teacher"]["api_key_env"] = "MIND_SECRET_KEY"
    refused = client.post("/api/v1/runs/preflight", headers=headers, json={"config": raw})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "config.teacher.api_key_env"
