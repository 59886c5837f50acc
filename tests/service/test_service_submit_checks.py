"""Submit refuses, with the key to change, a run whose data would stop it once started:
curation keeping no question, a question longer than `train.max_seq_len`. The messages are
the worker's own, so the studio and `mind train` say the same thing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.runs.config import check, execution_config
from app.settings import Settings
from mind.config import ConfigError
from mind.training_data import load_training_data
from tests.service.helpers import make_user, run_config, svamp_files, upload

API = "/api/v1/runs"


@pytest.fixture
def uploaded(
    client: TestClient, session: Session, shared: Path, tmp_path: Path
) -> tuple[dict[str, str], str, str]:
    """(headers, questions id, rationales id): a user and the small SVAMP files."""
    _, headers = make_user(session)
    questions, rationales = svamp_files(shared, tmp_path / "data")
    return (
        headers,
        upload(client, headers, questions, "questions"),
        upload(client, headers, rationales, "rationales"),
    )


def _submit(client: TestClient, headers: dict[str, str], config: dict) -> dict:
    answer = client.post(API, headers=headers, json={"name": "r", "config": config})
    return {**answer.json(), "code": answer.status_code}


class TestCurationKeepsNothing:
    """The curation key that removed the last question is named, before anything queues."""

    @pytest.mark.parametrize(
        ("data", "key"),
        [
            pytest.param({"min_perspectives": 4}, "data.min_perspectives", id="min-perspectives"),
            pytest.param({"source_split": "no-such-split"}, "data.source_split", id="split"),
        ],
    )
    def test_submit_is_refused_as_training_would_be(
        self,
        client: TestClient,
        session: Session,
        settings: Settings,
        uploaded: tuple[dict[str, str], str, str],
        tiny_student: str,
        data: dict,
        key: str,
    ) -> None:
        headers, questions, rationales = uploaded
        config = run_config(tiny_student, questions, rationales)
        config["data"] |= data
        answer = _submit(client, headers, config)
        assert answer["code"] == 422, answer
        assert answer["error"]["field"] == f"config.{key}"
        assert answer["error"]["message"].startswith("curation keeps no question")
        assert client.get(API, headers=headers).json()["total"] == 0

        resolved = execution_config(session, settings, check(session, config).config.frozen())
        with pytest.raises(ConfigError) as at_run_time:
            load_training_data(resolved)
        assert (at_run_time.value.key, at_run_time.value.message) == (
            key,
            answer["error"]["message"],
        )

    def test_preflight_says_why_before_submit(
        self, client: TestClient, uploaded: tuple[dict[str, str], str, str], tiny_student: str
    ) -> None:
        headers, questions, rationales = uploaded
        config = run_config(tiny_student, questions, rationales)
        config["data"]["min_perspectives"] = 4
        answer = client.post(f"{API}/preflight", headers=headers, json={"config": config})
        assert answer.status_code == 200, answer.text
        assert answer.json()["kept_questions"] == 0
        assert any("data.min_perspectives" in note for note in answer.json()["notes"])


class TestMaxSeqLen:
    """A prompt and answer longer than `train.max_seq_len` is refused at submit when the
    student's tokenizer is on this machine, and left to the worker when it is not."""

    def test_names_the_longest_question_and_its_tokens(
        self, client: TestClient, uploaded: tuple[dict[str, str], str, str], tiny_student: str
    ) -> None:
        headers, questions, rationales = uploaded
        config = run_config(tiny_student, questions, rationales, max_seq_len=32)
        answer = _submit(client, headers, config)
        assert answer["code"] == 422, answer
        assert answer["error"]["field"] == "config.train.max_seq_len"
        found = re.search(r"question, '(chal-\d+)', takes (\d+) tokens", answer["error"]["message"])
        assert found and int(found.group(2)) > 32, answer["error"]["message"]

        config["train"]["max_seq_len"] = int(found.group(2))
        assert _submit(client, headers, config)["code"] == 201

    def test_skipped_without_the_tokenizer_here(
        self,
        client: TestClient,
        uploaded: tuple[dict[str, str], str, str],
        tiny_student: str,
        tmp_path: Path,
    ) -> None:
        """A student folder whose tokenizer is not on this machine: the worker checks."""
        folder = tmp_path / "no-tokenizer"
        folder.mkdir()
        (folder / "config.json").write_text((Path(tiny_student) / "config.json").read_text())
        headers, questions, rationales = uploaded
        config = run_config(str(folder), questions, rationales, max_seq_len=32)
        answer = _submit(client, headers, config)
        assert answer["code"] == 201, answer
        assert answer["status"] == "queued" and answer["config"]["train"]["max_seq_len"] == 32
