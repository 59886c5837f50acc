"""Teacher jobs and model downloads through a real `mind-studio worker` (Postgres, Redis).

A teacher job against a local OpenAI-compatible server writes a rationale dataset with its
acceptance rate per perspective, using a team secret as the API key (sent to the server,
never shown); a run then trains on that dataset. A hub download on an offline worker
fails with a message that says so.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.secrets.models import TeamSecret
from app.settings import Settings
from app.users import service as users
from tests.openai_server import ChatServer
from tests.service.helpers import REDIS, run_config, start_worker, svamp_files, upload, wait_for

API = "/api/v1"
KEY = "sk-team-secret-0123456789"
WRONG_PERSPECTIVE = "Decomposition"


@pytest.fixture(scope="module")
def studio(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    home = tmp_path_factory.mktemp("byo")
    yield Settings(
        home=home,
        database_url=new_database(),
        broker_url=REDIS,
        queue=f"byo-{os.getpid()}",
        secret_key=Fernet.generate_key().decode(),
        heartbeat_s=0.5,
        lost_after_s=3,
    )


@pytest.fixture(scope="module")
def api(studio: Settings) -> Iterator[tuple[TestClient, dict]]:
    with make_sessionmaker(make_engine(studio.database_url)).begin() as session:
        user = users.create_user(session, "byo@team.test", "password1", True)
        _, token = users.create_token(session, user)
    with TestClient(create_app(studio)) as client:
        yield client, {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def worker(studio: Settings) -> Iterator[Path]:
    log = studio.home / "worker.log"
    process = start_worker(studio, log)
    yield log
    process.terminate()
    process.wait(timeout=30)


def teacher_server(questions: Path) -> ChatServer:
    """Right answers, except from the Decomposition perspective, which is always wrong."""
    answers = {}
    for line in questions.read_text().splitlines():
        record = json.loads(line)
        answers[record["question"]] = record["answer"]

    def respond(messages: list[dict[str, str]], body: dict) -> str:
        prompt = messages[-1]["content"]
        if "Problem:\n" not in prompt:
            return "OK"  # the connection test
        question = prompt.split("Problem:\n", 1)[1].split("\n\n", 1)[0]
        answer = answers[question]
        if f"Reasoning style: {WRONG_PERSPECTIVE}." in prompt:
            answer = str(int(answer) + 1000)
        return f"Working it out step by step.\nThe answer is {answer}."

    return ChatServer(respond)


def finished(client: TestClient, headers: dict, path: str) -> dict | None:
    item = client.get(path, headers=headers).json()
    return item if item["status"] in ("succeeded", "failed", "cancelled") else None


def test_teacher_job_writes_a_rationale_dataset_a_run_trains_on(
    api, worker: Path, studio: Settings, shared: Path, tiny_student: str
) -> None:
    client, headers = api
    questions, _ = svamp_files(shared, studio.home / "data")
    qid = upload(client, headers, questions, "questions")
    put = client.put(f"{API}/secrets/teacher-key", headers=headers, json={"value": KEY})
    assert put.status_code == 200 and KEY not in put.text
    with teacher_server(questions) as server:
        teacher = {"model": "tiny-teacher", "base_url": server.base_url}
        teacher["api_key_secret"] = "teacher-key"
        probe = client.post(f"{API}/teachers/test", headers=headers, json={"teacher": teacher})
        assert probe.status_code == 200, probe.text
        assert probe.json()["ok"] and probe.json()["model"] == "tiny-teacher"
        assert probe.json()["latency_ms"] > 0
        body = {
            "name": "svamp rationales",
            "questions": qid,
            "perspectives": ["formal_symbolic", "decomposition", "planning"],
            "max_questions": 4,
            "teacher": teacher,
        }
        created = client.post(f"{API}/teacher-jobs", headers=headers, json=body)
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        job = wait_for(
            lambda: finished(client, headers, f"{API}/teacher-jobs/{job_id}"), 120, "the job"
        )
    assert job["status"] == "succeeded", job
    assert server.authorizations and set(server.authorizations) == {f"Bearer {KEY}"}
    rates = {p: c["acceptance_rate"] for p, c in job["report"]["perspectives"].items()}
    assert rates == {"formal_symbolic": 1.0, "decomposition": 0.0, "planning": 1.0}
    assert job["report"]["totals"]["requested"] == 12
    assert job["report"]["rationale_tokens_estimated"] > 0
    assert {s["perspective"] for s in job["samples"]["rejected"]} == {"decomposition"}
    assert len(job["samples"]["accepted"]) == 5
    dataset = client.get(f"{API}/datasets/{job['rationales_id']}", headers=headers).json()
    assert dataset["kind"] == "rationales" and dataset["row_count"] == 12
    assert KEY not in json.dumps(job) and KEY not in worker.read_text()

    config = run_config(tiny_student, qid, job["rationales_id"])
    config["perspectives"] = ["formal_symbolic", "planning"]
    run = client.post(f"{API}/runs", headers=headers, json={"name": "byo", "config": config})
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    done = wait_for(lambda: finished(client, headers, f"{API}/runs/{run_id}"), 240, "the run")
    assert done["status"] == "succeeded", done

    plan = client.post(f"{API}/runs/preflight", headers=headers, json={"config": config}).json()
    assert plan["throughput_source"].startswith("measured") and plan["tokens_per_s"] > 0
    assert plan["eval_source"].startswith("measured") and plan["eval_seconds"] > 0


def test_secrets_are_write_only_and_encrypted(api, studio: Settings) -> None:
    client, headers = api
    client.put(f"{API}/secrets/other-key", headers=headers, json={"value": "sk-other"})
    listed = client.get(f"{API}/secrets", headers=headers)
    assert "other-key" in {s["name"] for s in listed.json()} and "sk-other" not in listed.text
    with make_sessionmaker(make_engine(studio.database_url))() as session:
        row = session.query(TeamSecret).filter_by(name="other-key").one()
    assert "sk-other" not in row.ciphertext
    assert Fernet(studio.secret_key.encode()).decrypt(row.ciphertext.encode()) == b"sk-other"


def test_hub_download_on_an_offline_worker_fails_saying_so(api, worker: Path) -> None:
    client, headers = api
    added = client.post(f"{API}/models", headers=headers, json={"hf_id": "Qwen/Qwen2.5-0.5B"})
    assert added.status_code == 202 and added.json()["status"] == "queued"
    model_id = added.json()["registered_id"]
    model = wait_for(
        lambda: (
            (m := client.get(f"{API}/models/{model_id}", headers=headers).json())["status"]
            == "failed"
            and m
        ),
        60,
        "the download to fail",
    )
    assert "offline (HF_HUB_OFFLINE=1)" in model["error"]
    config = {"student": "Qwen/Qwen2.5-0.5B", "method": "zero_shot"}
    refused = client.post(f"{API}/runs", headers=headers, json={"name": "x", "config": config})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "config.student"
    assert "failed" in refused.json()["error"]["message"]


def test_a_run_trains_on_chat_rationales_and_csv_questions_without_ids(
    api, worker: Path, studio: Settings, shared: Path, tiny_student: str
) -> None:
    """The shapes people have, end to end: no ids, no perspective, no mapping."""
    client, headers = api
    folder = studio.home / "shapes"
    folder.mkdir()
    questions_jsonl, rationales_jsonl = svamp_files(shared, folder)
    questions = [json.loads(line) for line in questions_jsonl.read_text().splitlines()]
    csv_path = folder / "questions.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question", "answer"])
        writer.writerows([q["question"], q["answer"]] for q in questions)
    chat_path = folder / "chat.jsonl"
    with chat_path.open("w") as handle:
        for line in rationales_jsonl.read_text().splitlines():
            r = json.loads(line)
            turns = [
                {"role": "user", "content": r["question"]},
                {"role": "assistant", "content": r["rationale"]},
            ]
            handle.write(json.dumps({"messages": turns}) + "\n")
    qid = upload(client, headers, csv_path, "questions")
    rid = upload(client, headers, chat_path, "rationales")
    config = run_config(tiny_student, qid, rid)
    config |= {"method": "sft", "perspectives": ["other:standard_cot"]}
    config["data"] |= {"min_perspectives": 1, "only_correct": False}
    run = client.post(f"{API}/runs", headers=headers, json={"name": "shapes", "config": config})
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    done = wait_for(lambda: finished(client, headers, f"{API}/runs/{run_id}"), 240, "the run")
    assert done["status"] == "succeeded", done
