"""/api/v1/models: the bundled student with its facts, registering local folders (admins,
inside the allowed roots only), hub ids checked, and a run's student checked at submit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.settings import Settings
from tests.service.helpers import make_user

API = "/api/v1/models"


@pytest.fixture
def admin(session: Session) -> dict:
    return make_user(session, admin=True)[1]


@pytest.fixture
def member(session: Session) -> dict:
    return make_user(session)[1]


@pytest.fixture
def local_model(settings: Settings, tiny_student: str) -> Path:
    """The tiny student copied under the allowed model root (MIND_HOME/models)."""
    target = settings.model_roots[0] / "tiny"
    shutil.copytree(tiny_student, target)
    return target


def test_lists_the_bundled_student_with_its_facts(client: TestClient, member: dict) -> None:
    models = {m["name"]: m for m in client.get(API, headers=member).json()}
    bundled = models["smollm2-135m-instruct"]
    assert bundled["source"] == "bundled" and bundled["status"] == "ready"
    assert 130e6 < bundled["parameters"] < 140e6
    assert bundled["dtype"] == "Q4_1" and bundled["chat_template"] is True
    assert bundled["size_bytes"] > 50e6 and bundled["runs"] == 0


def test_admin_registers_a_local_folder(client: TestClient, admin: dict, local_model: Path) -> None:
    from transformers import AutoModelForCausalLM

    added = client.post(API, headers=admin, json={"path": str(local_model)})
    assert added.status_code == 200, added.text
    model = added.json()
    assert model["status"] == "ready" and model["name"] == str(local_model.resolve())
    expected = AutoModelForCausalLM.from_pretrained(local_model).num_parameters()
    assert model["parameters"] == expected
    assert model["dtype"] == "float32" and model["chat_template"] is True
    assert model["architecture"] == "LlamaForCausalLM"
    listed = {m["name"] for m in client.get(API, headers=admin).json()}
    assert str(local_model.resolve()) in listed
    again = client.post(API, headers=admin, json={"path": str(local_model)})
    assert again.json()["registered_id"] == model["registered_id"]


def test_local_paths_are_checked(
    client: TestClient, admin: dict, member: dict, local_model: Path, tmp_path: Path
) -> None:
    def refused(headers: dict, path: str, status: int = 422) -> str:
        answer = client.post(API, headers=headers, json={"path": path})
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]["field"] == "path"
        return answer.json()["error"]["message"]

    assert "admin" in refused(member, str(local_model), 403)
    outside = tmp_path / "elsewhere"
    shutil.copytree(local_model, outside)
    assert "outside the model folders" in refused(admin, str(outside))
    escape = local_model.parent / "link"
    escape.symlink_to(outside)  # inside the root by name, outside once resolved
    assert "outside the model folders" in refused(admin, str(escape))
    assert "outside" in refused(admin, str(local_model / ".." / ".." / "elsewhere"))
    assert "not an absolute path" in refused(admin, "models/tiny")
    empty = local_model.parent / "empty"
    empty.mkdir()
    assert "no config.json" in refused(admin, str(empty))
    (local_model / "model.safetensors").unlink()
    assert "no weights" in refused(admin, str(local_model))


def test_hub_ids_are_checked_and_queued(client: TestClient, member: dict) -> None:
    bad = client.post(API, headers=member, json={"hf_id": "not a/valid//id"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "hf_id"
    both = client.post(API, headers=member, json={"hf_id": "a/b", "path": "/x"})
    assert both.status_code == 422
    queued = client.post(API, headers=member, json={"hf_id": "org/some-model"})
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    row = client.get(f"{API}/{queued.json()['registered_id']}", headers=member).json()
    assert row["name"] == "org/some-model" and row["source"] == "hub"


def test_a_run_student_is_checked_at_submit(client: TestClient, member: dict) -> None:
    config = {"student": "Qwen/Qwen2.5-0.5B-Instruct", "method": "zero_shot"}
    answer = client.post("/api/v1/runs", headers=member, json={"name": "r", "config": config})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "config.student" and "Models page" in error["message"]
