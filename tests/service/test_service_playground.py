"""The playground and the exports over the API, on a run whose checkpoint is a real peft
adapter (random LoRA weights on the tiny student) written where the trainer writes one."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.runs.models import Run
from app.settings import Settings
from tests.service.helpers import make_user

if TYPE_CHECKING:
    from mind.config import RunConfig

API = "/api/v1/runs"
QUESTION = "Tom has 3 apples and buys 4 more. How many apples does he have?"


def sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def cancelled_run(session: Session, owner_id: str, name: str, config: RunConfig) -> Run:
    """A cancelled run of `config`, flushed so it has its id."""
    row = Run(
        name=name,
        owner_id=owner_id,
        method=config.method,
        student=config.student,
        config=config.frozen(),
        status="cancelled",
    )
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def run(session: Session, settings: Settings, tiny_student: str) -> tuple[Run, dict[str, str]]:
    """A cancelled run with a checkpoint at step 2, as the trainer leaves one."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from mind.config import RunConfig

    user, headers = make_user(session)
    config = RunConfig.model_validate(
        {"student": tiny_student, "method": "mind", "eval": {"max_new_tokens": 12}}
    )
    row = cancelled_run(session, user.id, "tried", config)
    session.commit()
    folder = settings.storage / row.directory / "checkpoints" / "step-2"
    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(tiny_student)
    lora = LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(base, lora).save_pretrained(folder / "adapter")
    (folder / "trainer.pt").write_bytes(b"state")
    (folder / "manifest.json").write_text(json.dumps({"step": 2}))
    return row, headers


class TestPlayground:
    def test_both_students_stream_their_answers(self, client: TestClient, run) -> None:
        row, headers = run
        answers = {}
        for student in ("trained", "base"):
            response = client.post(
                f"{API}/{row.id}/playground/{student}",
                headers=headers,
                json={"question": QUESTION, "max_new_tokens": 12},
            )
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("text/event-stream")
            events = sse(response.text)
            tokens = [data["text"] for name, data in events if name == "token"]
            assert len(tokens) > 1, "the answer came in one piece, not streamed"
            name, done = events[-1]
            assert name == "done" and done["answer"] == "".join(tokens).strip()
            assert done["answer_type"] == "number" and "final_answer" in done
            answers[student] = done["answer"]
        assert answers["trained"] != answers["base"]

    def test_greedy_is_the_evaluation_and_a_seed_repeats_a_sample(self, client, run) -> None:
        row, headers = run

        def ask(**extra) -> str:
            body = {"question": QUESTION, "max_new_tokens": 10, **extra}
            answer = client.post(f"{API}/{row.id}/playground/trained", headers=headers, json=body)
            return sse(answer.text)[-1][1]["answer"]

        assert ask() == ask()
        assert ask(temperature=1.0, seed=3) == ask(temperature=1.0, seed=3)

    @pytest.mark.parametrize(
        ("body", "status", "field"),
        [
            ({"question": ""}, 422, "question"),
            ({"question": "x", "temperature": 5}, 422, "temperature"),
            ({"question": "x", "step": 7}, 404, "step"),
        ],
    )
    def test_bad_requests_name_the_field(self, client, run, body, status, field) -> None:
        row, headers = run
        answer = client.post(f"{API}/{row.id}/playground/trained", headers=headers, json=body)
        assert answer.status_code == status and answer.json()["error"]["field"] == field

    def test_a_run_without_checkpoint_says_so(self, client, run, session) -> None:
        row, headers = run
        other = Run(**{k: getattr(row, k) for k in ("name", "owner_id", "method", "student")})
        other.config = row.config
        session.add(other)
        session.commit()
        answer = client.post(
            f"{API}/{other.id}/playground/trained", headers=headers, json={"question": "x"}
        )
        assert answer.status_code == 409 and "no checkpoint" in answer.json()["error"]["message"]


class TestExports:
    def test_a_cancelled_runs_checkpoint_exports_portably(self, client, run, settings) -> None:
        row, headers = run
        adapter = client.get(f"{API}/{row.id}/exports/adapter", headers=headers)
        assert adapter.status_code == 200
        files = zipfile.ZipFile(io.BytesIO(adapter.content))
        config = json.loads(files.read("adapter_config.json"))
        assert config["base_model_name_or_path"] == Path(row.student).name
        card = files.read("README.md").decode()
        assert "ended cancelled" in card and str(settings.storage) not in card

        merged = client.get(f"{API}/{row.id}/exports/merged?step=2", headers=headers)
        names = set(zipfile.ZipFile(io.BytesIO(merged.content)).namelist())
        assert {"model.safetensors", "config.json", "tokenizer.json", "README.md"} <= names

        saved = client.get(f"{API}/{row.id}/checkpoints/2/download", headers=headers)
        assert set(zipfile.ZipFile(io.BytesIO(saved.content)).namelist()) >= {
            "manifest.json",
            "trainer.pt",
            "adapter/adapter_config.json",
        }

    def test_unknown_export_kind_and_step(self, client, run) -> None:
        row, headers = run
        assert client.get(f"{API}/{row.id}/exports/gguf", headers=headers).status_code == 422
        missing = client.get(f"{API}/{row.id}/exports/card?step=9", headers=headers)
        assert missing.status_code == 404 and missing.json()["error"]["field"] == "step"


class TestCardWeights:
    def test_the_card_summarises_every_joint_step_not_the_last(
        self, session: Session, settings: Settings, tiny_student: str
    ) -> None:
        """A perspective missing from the last step's batch is still on the card, with
        its mean weight and selection share over the joint steps (warm-up left out)."""
        from app.playground.exports import card_facts
        from app.results.models import PerspectiveWeight
        from mind.config import RunConfig
        from mind.export import render_card

        user, _ = make_user(session)
        raw = {"student": tiny_student, "method": "mind", "train": {"max_steps": 10}}
        config = RunConfig.model_validate(raw)  # warm-up: round(0.1 x 10) = 1 step
        row = cancelled_run(session, user.id, "weights", config)
        logged = {  # step: {perspective: (weight, selected, present)}
            1: {"formal": (0.9, 1.0, 4), "visual": (0.1, 0.0, 4)},  # warm-up
            2: {"formal": (0.6, 1.0, 1), "visual": (0.4, 0.0, 3)},
            3: {"formal": (0.2, 0.0, 3), "visual": (0.8, 1.0, 1)},
            4: {"visual": (0.5, 0.5, 2)},
        }
        session.add_all(
            PerspectiveWeight(
                run_id=row.id, step=step, perspective=p, weight=w, selected=s, present=n
            )
            for step, stats in logged.items()
            for p, (w, s, n) in stats.items()
        )
        session.commit()
        facts = card_facts(session, settings, row, 4)
        formal, visual = facts.perspectives["formal"], facts.perspectives["visual"]
        assert formal.mean_weight == pytest.approx((0.6 + 3 * 0.2) / 4)
        assert formal.selected == pytest.approx(0.25)
        assert (formal.steps, formal.last_weight) == (2, None)
        assert visual.mean_weight == pytest.approx((3 * 0.4 + 0.8 + 2 * 0.5) / 6)
        assert (visual.steps, visual.last_weight) == (3, 0.5)
        assert list(facts.perspectives) == ["visual", "formal"]  # highest mean first
        card = render_card(facts, "adapter")
        assert "| formal | 0.300 | 25.0% | 2 | – |" in card
