"""Stored evaluations keep the extractor version that scored them; a rescore (REST or the
run page's button) adds a new evaluation with the current extractor and keeps the old."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.pages import auth
from app.results.models import EvaluationResult
from app.runs.models import Run
from app.settings import Settings
from app.users import service as users
from app.users.models import User
from mind.answers import EXTRACTOR_VERSION
from tests.service.helpers import make_user

QUESTIONS = [
    {"id": "p1", "question": "Which word?", "answer": "B", "choices": ["cat", "category", "dog"]},
    {
        "id": "p2",
        "question": "Which animal barks?",
        "answer": "C",
        "choices": ["cat", "cow", "dog"],
    },
]
OUTPUTS = {"p1": "The answer is category.", "p2": "I would pick C — dogs bark."}


@pytest.fixture
def scored_run(client: TestClient, session: Session, settings: Settings) -> tuple[Run, dict]:
    """A finished run whose evaluations were scored by extractor version 1 (both wrong)."""
    user, headers = make_user(session)
    content = "".join(json.dumps(q) + "\n" for q in QUESTIONS).encode()
    files = {"file": ("pets.jsonl", io.BytesIO(content))}
    response = client.post(
        "/api/v1/datasets", headers=headers, data={"kind": "questions"}, files=files
    )
    dataset = response.json()["id"]
    run = Run(
        name="old run",
        owner_id=user.id,
        status="succeeded",
        method="sft",
        student="smollm2-135m-instruct",
        config={"eval": {"benchmarks": [{"name": "pets", "dataset": dataset, "kind": "id"}]}},
    )
    session.add(run)
    session.flush()
    for model in ("trained", "base"):
        folder = Path("runs") / run.id / model / "predictions"
        (settings.storage / folder).mkdir(parents=True)
        rows = [
            {
                **q,
                "gold": q["answer"],
                "output": OUTPUTS[q["id"]],
                "prediction": "A",
                "correct": False,
            }
            for q in QUESTIONS
        ]
        (settings.storage / folder / "pets.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows)
        )
        session.add(
            EvaluationResult(
                run_id=run.id,
                model=model,
                benchmark="pets",
                kind="id",
                answer_type="letter",
                n=2,
                accuracy=0.0,
                gain=0.0 if model == "trained" else None,
                predictions_path=str(folder / "pets.jsonl"),
                extractor_version="1",
            )
        )
    session.commit()
    return run, headers


def test_rescore_adds_a_current_evaluation_and_keeps_the_old(
    client: TestClient, session: Session, settings: Settings, scored_run: tuple[Run, dict]
) -> None:
    run, headers = scored_run
    api = f"/api/v1/runs/{run.id}/evaluations"
    before = client.get(api, headers=headers).json()
    assert {(e["model"], e["extractor_version"], e["accuracy"]) for e in before} == {
        ("trained", "1", 0.0),
        ("base", "1", 0.0),
    }
    response = client.post(f"{api}/rescore", headers=headers)
    assert response.status_code == 201, response.text
    assert {(e["model"], e["extractor_version"]) for e in response.json()} == {
        ("trained", EXTRACTOR_VERSION),
        ("base", EXTRACTOR_VERSION),
    }
    after = {e["model"]: e for e in client.get(api, headers=headers).json()}
    assert after["trained"]["accuracy"] == 1.0 and after["trained"]["gain"] == 0.0
    stored = session.scalars(select(EvaluationResult).where(EvaluationResult.run_id == run.id))
    versions = sorted(r.extractor_version for r in stored)
    assert versions == sorted(["1", "1", EXTRACTOR_VERSION, EXTRACTOR_VERSION])
    predictions = client.get(f"{api}/pets/predictions", headers=headers).json()
    assert [p["prediction"] for p in predictions] == ["B", "C"]
    again = client.post(f"{api}/rescore", headers=headers)
    assert again.status_code == 409
    assert EXTRACTOR_VERSION in again.json()["error"]["message"]


def test_only_the_owner_or_an_admin_rescores(
    client: TestClient, session: Session, scored_run: tuple[Run, dict]
) -> None:
    run, _ = scored_run
    _, stranger = make_user(session)
    response = client.post(f"/api/v1/runs/{run.id}/evaluations/rescore", headers=stranger)
    assert response.status_code == 403


def test_run_page_shows_the_version_and_rescores(
    client: TestClient, session: Session, scored_run: tuple[Run, dict]
) -> None:
    run, _ = scored_run
    owner = session.get(User, run.owner_id)
    token = users.create_token(session, owner, auth.SESSION_NAME, kind="session")[1]
    session.commit()
    client.cookies.set(auth.COOKIE, token)
    page = client.get(f"/runs/{run.id}")
    assert page.status_code == 200
    assert f"extractor version 1 (current: {EXTRACTOR_VERSION})" in page.text
    assert 'id="rescore-run"' in page.text
    done = client.post(
        f"/runs/{run.id}/rescore", data={"csrf": auth.csrf_token(token)}, follow_redirects=False
    )
    assert done.status_code == 303
    page = client.get(f"/runs/{run.id}")
    assert f"extractor version {EXTRACTOR_VERSION}." in page.text
    assert 'id="rescore-run"' not in page.text
