"""`mind generate` and `generate_rationales`, end to end against a real local server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from openai_server import ChatServer, lively_copy, model_responder

from mind import cli
from mind.config import parse_config
from mind.data import read_questions, read_rationales
from mind.perspectives import BUILTIN
from mind.teacher.backend import Sampling
from mind.teacher.cache import CACHE_FILE
from mind.teacher.generate import GenerationStopped, generate_rationales
from mind.teacher.prompts import PROMPT_STYLE, build_messages, prompt_sha256

PERSPECTIVES = ["formal_symbolic", "intuitive", "socratic"]
N_QUESTIONS = 2
TOTAL = N_QUESTIONS * len(PERSPECTIVES)
SCHEMA = {
    "id", "dataset", "split", "question", "answer", "perspective", "rationale",
    "rationale_answer", "correct", "teacher", "style", "prompt_sha256", "elapsed_s",
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_teacher(tiny_student: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return lively_copy(tiny_student, tmp_path_factory.mktemp("tiny-teacher"))


@pytest.fixture(scope="module")
def tiny_responder(tiny_teacher: str):
    return model_responder(tiny_teacher)


@pytest.fixture
def gsm8k(shared: Path) -> Path:
    return shared / "datasets" / "gsm8k" / "test.jsonl"


def run_config(questions: Path, **teacher: Any) -> dict[str, Any]:
    return {
        "perspectives": PERSPECTIVES,
        "data": {"questions": str(questions), "max_questions": N_QUESTIONS},
        "teacher": {"model": "tiny-teacher", "max_tokens": 12, "max_retries": 0, **teacher},
    }


def mind_generate(tmp_path: Path, raw: dict[str, Any], monkeypatch) -> int:
    """Run `mind generate` through the real CLI entry point."""
    monkeypatch.setattr(cli, "COMMANDS", ["generate"])  # only this command is under test
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(raw))
    return cli.main(["generate", "--config", str(config), "--output", str(tmp_path / "out")])


class TestGenerateCommand:
    def test_writes_judged_rationales_and_a_report(
        self, tmp_path, gsm8k, tiny_responder, monkeypatch
    ):
        """One record per question x perspective in the teacher_rationales schema, with
        the hash of the exact prompt, readable by mind.data; the report counts them."""
        with ChatServer(tiny_responder) as server:
            raw = run_config(gsm8k, base_url=server.base_url)
            assert mind_generate(tmp_path, raw, monkeypatch) == 0
        assert len(server.requests) == TOTAL
        lines = (tmp_path / "out" / "rationales.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in lines]
        assert len(records) == TOTAL and all(set(r) == SCHEMA for r in records)
        questions = read_questions(gsm8k)[:N_QUESTIONS]
        sampling = Sampling.from_config(parse_config(raw).teacher, seed=0).as_dict()
        expected = [(q, p) for q in questions for p in PERSPECTIVES]
        for record, (q, p) in zip(records, expected, strict=True):
            assert (record["id"], record["perspective"]) == (q.id, p)
            assert (record["dataset"], record["split"]) == ("gsm8k", "test")
            assert record["teacher"] == "tiny-teacher" and record["style"] == PROMPT_STYLE
            assert record["prompt_sha256"] == prompt_sha256(build_messages(q, BUILTIN[p]), sampling)
            assert record["correct"] is False  # a random model does not solve GSM8K
        assert len(read_rationales(tmp_path / "out" / "rationales.jsonl")) == TOTAL
        report = json.loads((tmp_path / "out" / "generation_report.json").read_text())
        assert report["perspectives"]["socratic"] == {"requested": 2, "generated": 2, "accepted": 0}
        assert report["totals"] == {
            "requested": TOTAL,
            "generated": TOTAL,
            "accepted": 0,
            "cache_hits": 0,
            "empty": 0,
            "truncated": 0,
        }

    def test_second_run_is_served_from_the_cache(
        self, tmp_path, gsm8k, tiny_responder, monkeypatch
    ):
        """A re-run makes zero HTTP requests and writes the same rationales and hashes."""
        with ChatServer(tiny_responder) as server:
            raw = run_config(gsm8k, base_url=server.base_url)
            assert mind_generate(tmp_path, raw, monkeypatch) == 0
            first = (tmp_path / "out" / "rationales.jsonl").read_text()
            assert mind_generate(tmp_path, raw, monkeypatch) == 0
        assert len(server.requests) == TOTAL
        assert (tmp_path / "out" / "rationales.jsonl").read_text() == first
        report = json.loads((tmp_path / "out" / "generation_report.json").read_text())
        assert report["totals"]["cache_hits"] == TOTAL

    def test_interrupted_run_resumes_with_only_the_missing(
        self, tmp_path, gsm8k, tiny_responder, monkeypatch, capsys
    ):
        """The server dies after 2 answers: the run fails with a clear error, and the next
        run (server back, another port) asks only for the other ones."""
        with ChatServer(tiny_responder, down_after=2) as dying:
            raw = run_config(gsm8k, base_url=dying.base_url, max_concurrency=1)
            assert mind_generate(tmp_path, raw, monkeypatch) == 1
        assert "cannot reach the teacher" in capsys.readouterr().err
        assert not (tmp_path / "out" / "rationales.jsonl").exists()
        assert len((tmp_path / "out" / CACHE_FILE).read_text().splitlines()) == 2
        with ChatServer(tiny_responder) as server:
            raw = run_config(gsm8k, base_url=server.base_url)
            assert mind_generate(tmp_path, raw, monkeypatch) == 0
        assert len(server.requests) == TOTAL - 2
        assert len(read_rationales(tmp_path / "out" / "rationales.jsonl")) == TOTAL

    def test_transient_errors_are_retried(self, tmp_path, gsm8k, monkeypatch):
        """429 and 503 answers (with Retry-After) are retried and the run succeeds."""
        failures = [(429, "0"), (503, "0")]
        with ChatServer(lambda m, b: "The answer is 3.", fail_first=failures) as server:
            raw = run_config(gsm8k, base_url=server.base_url, max_retries=2, max_concurrency=1)
            assert mind_generate(tmp_path, raw, monkeypatch) == 0
        assert len(server.requests) == TOTAL + 2

    def test_bad_request_fails_with_status_and_body(self, tmp_path, gsm8k, monkeypatch, capsys):
        """A 400 stops the run with one line naming the status and the server's reason."""
        with ChatServer(lambda m, b: "unused") as server:
            raw = run_config(gsm8k, base_url=server.base_url, max_tokens=100_000)
            assert mind_generate(tmp_path, raw, monkeypatch) == 1
        err = capsys.readouterr().err
        assert "mind generate: error:" in err and "HTTP 400" in err
        assert "max_tokens must be at most" in err

    def test_config_without_teacher_is_refused(self, tmp_path, gsm8k, monkeypatch, capsys):
        """The error names the missing section instead of failing later."""
        raw = {"data": {"questions": str(gsm8k), "rationales": str(gsm8k)}}
        assert mind_generate(tmp_path, raw, monkeypatch) == 1
        assert "teacher" in capsys.readouterr().err


class RecordingReporter:
    """A Reporter that remembers what it was told and can ask to stop after N results."""

    def __init__(self, stop_after: int | None = None):
        self.stop_after = stop_after
        self.progress_calls: list[tuple[str, float]] = []
        self.events: list[str] = []

    def event(self, kind: str, message: str, **data: Any) -> None:
        self.events.append(kind)

    def progress(self, stage: str, fraction: float) -> None:
        self.progress_calls.append((stage, fraction))

    def should_stop(self) -> bool:
        done = len(self.progress_calls)
        return self.stop_after is not None and done >= self.stop_after


class TestGenerateRationales:
    def test_teacher_answers_are_judged_against_the_gold(self, tmp_path, shared):
        """Rationales ending in the gold answer are accepted, the others rejected, and
        the report counts both per perspective (multiple choice: by letter)."""
        csqa = shared / "datasets" / "commonsenseqa" / "dev.jsonl"
        gold = {q.question: q.answer for q in read_questions(csqa)[:N_QUESTIONS]}

        def oracle(messages, body) -> str:
            user = messages[-1]["content"]
            letter = next(a for q, a in gold.items() if q in user)
            wrong = "intuitive" in user.lower()  # one perspective always answers wrongly
            return f"Weighing the options.\nThe answer is {'Z' if wrong else letter}."

        with ChatServer(oracle) as server:
            config = parse_config(run_config(csqa, base_url=server.base_url))
            path = generate_rationales(config, tmp_path)
        records = [json.loads(line) for line in path.read_text().splitlines()]
        accepted = {r["perspective"] for r in records if r["correct"]}
        assert accepted == {"formal_symbolic", "socratic"}
        assert all(r["rationale_answer"] == r["answer"] for r in records if r["correct"])
        report = json.loads((tmp_path / "generation_report.json").read_text())
        assert report["perspectives"]["intuitive"]["accepted"] == 0
        assert report["totals"]["accepted"] == 2 * N_QUESTIONS

    def test_progress_events_and_stop(self, tmp_path, gsm8k):
        """Progress is reported on the `generating` stage; a stop request ends the run
        with what was generated kept in the cache for the next run."""
        with ChatServer(lambda m, b: "The answer is 1.") as server:
            config = parse_config(run_config(gsm8k, base_url=server.base_url, max_concurrency=1))
            with pytest.raises(GenerationStopped):
                generate_rationales(config, tmp_path, RecordingReporter(stop_after=2))
            reporter = RecordingReporter()
            generate_rationales(config, tmp_path, reporter)
        # Finished answers are kept; only the one request in flight at the stop (the
        # concurrency limit is 1) may be asked again.
        assert TOTAL <= len(server.requests) <= TOTAL + 1
        assert {stage for stage, _ in reporter.progress_calls} == {"generating"}
        assert reporter.progress_calls[-1] == ("generating", 1.0)
        assert reporter.events == ["generation_started", "generation_finished"]

    def test_hf_backend_end_to_end(self, tmp_path, gsm8k, tiny_teacher):
        """The local transformers teacher fills the same files, in batches; a reply that
        ran out of max_tokens before EOS is reported truncated, not written or cached."""
        config = parse_config(
            {
                **run_config(gsm8k),
                "teacher": {
                    "backend": "hf",
                    "model": tiny_teacher,
                    "max_tokens": 4,
                    "batch_size": 4,
                },
                "train": {"device": "cpu"},
            }
        )
        path = generate_rationales(config, tmp_path)
        report = json.loads((tmp_path / "generation_report.json").read_text())
        totals = report["totals"]
        assert report["backend"] == "hf" and totals["requested"] == TOTAL
        assert totals["generated"] + totals["truncated"] + totals["empty"] == TOTAL
        assert totals["truncated"] > 0  # 4 tokens rarely reach EOS
        assert len(read_rationales(path)) == totals["generated"]

    def test_without_teacher_the_given_rationales_are_used(self, tmp_path, shared):
        """Rationales the user already has need no generation: their file is returned."""
        given = shared / "teacher_rationales" / "strategyqa_dev.jsonl"
        config = parse_config({"data": {"rationales": str(given)}})
        assert generate_rationales(config, tmp_path) == given
