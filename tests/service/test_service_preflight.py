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
