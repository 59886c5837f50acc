"""Every case of ../shared/bug_cases with its right value: scoring through `mind score`,
ingestion through the core readers, the teacher client against the cases' fake server,
and the over-long question of `mind train`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from mind.cli import main
from mind.data import read_questions
from mind.readers import DataError, iter_records

SCORING_CASES = [
    "case01",
    "case02",
    "case04",
    "case05",
    "case06",
    "case07",
    "case08",
    "case10",
    "case11",
    "case12",
    "case14",
    "case16",
]


@pytest.fixture(scope="module")
def cases(shared: Path) -> Path:
    return shared / "bug_cases"


@pytest.mark.parametrize("case", SCORING_CASES)
def test_scoring_case_is_right(cases: Path, case: str, capsys: pytest.CaptureFixture) -> None:
    benchmark, predictions = cases / f"{case}_benchmark.jsonl", cases / f"{case}_predictions.jsonl"
    assert main(["score", "--benchmark", str(benchmark), "--predictions", str(predictions)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["accuracy"] == 1.0


class TestIngestionCases:
    def test_case16_bom_jsonl_is_read(self, cases: Path) -> None:
        questions = read_questions(cases / "case16_benchmark.jsonl")
        assert [q.id for q in questions][:1] == ["gsm8k-test-00000"] and len(questions) == 3

    def test_case17_latin1_names_file_and_line(
        self, cases: Path, capsys: pytest.CaptureFixture
    ) -> None:
        path = cases / "case17_latin1_questions.jsonl"
        with pytest.raises(DataError) as caught:
            read_questions(path)
        assert str(caught.value).startswith(f"{path}:1: not UTF-8")
        code = main(["score", "--benchmark", str(path), "--predictions", str(path)])
        assert code == 2
        assert f"{path}:1: not UTF-8 (byte 0xe9" in capsys.readouterr().err

    def test_case18_quoted_newlines_in_a_large_csv(self, cases: Path) -> None:
        questions = read_questions(cases / "case18_newlines_in_values.csv")
        assert len(questions) == 4000
        assert any("\n" in q.question for q in questions)

    def test_case20_true_false_cells_stay_text(self, cases: Path) -> None:
        questions = read_questions(cases / "case20_truefalse_answers.csv")
        assert [q.answer for q in questions] == ["true", "false"]

    def test_case20b_json_booleans_are_yes_no(self, cases: Path) -> None:
        questions = read_questions(cases / "case20b_bool_answers.jsonl")
        assert [q.answer for q in questions] == ["no", "yes"]

    def test_case21_json_array(self, cases: Path) -> None:
        questions = read_questions(cases / "case21_json_array.json")
        assert [q.id for q in questions] == [f"gsm8k-test-0000{i}" for i in range(3)]
        assert [line for line, _ in iter_records(cases / "case21_json_array.json")] == [2, 7, 12]

    def test_case22_huge_cell(self, cases: Path) -> None:
        questions = read_questions(cases / "case22_huge_cell.csv")
        assert max(len(q.question) for q in questions) > 4_000_000 - 1_000


FAKE_PORT = 8131


@pytest.fixture(scope="module")
def fake_teacher(cases: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The cases' fake OpenAI server; yields its request log."""
    log = tmp_path_factory.mktemp("fake-teacher") / "requests.log"
    server = subprocess.Popen(
        [sys.executable, str(cases / "case24_27_fake_openai_server.py"), str(FAKE_PORT)],
        env={"FAKE_TEACHER_LOG": str(log), "PATH": "/usr/bin:/bin"},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{FAKE_PORT}/", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    yield log
    server.terminate()
    server.wait(timeout=10)


def generate(cases: Path, mode: str, out: Path, model: str | None = None) -> int:
    """`mind generate` with a case's config (its files found in the cases folder)."""
    config = yaml.safe_load((cases / f"case24_27_{mode}.yaml").read_text())
    config["data"]["questions"] = str(cases / config["data"]["questions"])
    config["teacher"]["max_retries"] = 0
    config["teacher"]["model"] = model or config["teacher"]["model"]
    path = out.parent / f"{mode}.yaml"
    path.write_text(yaml.safe_dump(config))
    return main(["generate", "--config", str(path), "--output", str(out)])


def records(out: Path) -> list[dict]:
    text = (out / "rationales.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def totals(out: Path) -> dict:
    return json.loads((out / "generation_report.json").read_text())["totals"]


class TestTeacherCases:
    def test_case24_null_content_takes_reasoning_content(
        self, cases: Path, fake_teacher: Path, tmp_path: Path
    ) -> None:
        out = tmp_path / "out"
        assert generate(cases, "null-content", out) == 0
        [record] = records(out)
        assert record["rationale"].endswith("The answer is 18.") and record["correct"]

    def test_case25_empty_reply_is_asked_again(
        self, cases: Path, fake_teacher: Path, tmp_path: Path, capsys: pytest.CaptureFixture
    ) -> None:
        out = tmp_path / "out"
        assert generate(cases, "empty-then-good", out) == 0
        assert records(out) == [] and totals(out)["empty"] == 1
        shown = capsys.readouterr()
        assert "warning: 1 empty and 0 truncated teacher replies" in shown.out + shown.err
        assert generate(cases, "empty-then-good", out) == 0
        assert len(records(out)) == 1
        assert totals(out)["cache_hits"] == 0 and totals(out)["generated"] == 1
        assert fake_teacher.read_text().count("empty-then-good") == 2

    @pytest.mark.parametrize("mode", ["length-lucky", "length"])
    def test_case26_truncated_reply_is_not_accepted(
        self, cases: Path, fake_teacher: Path, tmp_path: Path, mode: str
    ) -> None:
        """Cut off by max_tokens: not written, not cached, counted; ending on the gold
        number (`length-lucky`) does not make it a correct rationale."""
        out = tmp_path / "out"
        assert generate(cases, "length-lucky", out, model=mode) == 0
        assert records(out) == []
        assert totals(out)["accepted"] == 0 and totals(out)["truncated"] == 1
        cache = out / "teacher_cache.jsonl"
        assert not cache.exists() or not cache.read_text().strip()

    @pytest.mark.parametrize(
        ("mode", "says"),
        [
            ("sse-only", "text/event-stream"),
            ("html200", "text/html"),
        ],
    )
    def test_case27_non_json_reply_is_a_clear_error(
        self,
        cases: Path,
        fake_teacher: Path,
        tmp_path: Path,
        capsys: pytest.CaptureFixture,
        mode: str,
        says: str,
    ) -> None:
        assert generate(cases, mode, tmp_path / "out") == 1
        err = capsys.readouterr().err
        assert err.startswith("mind generate: error: teacher ")
        assert f"http://127.0.0.1:{FAKE_PORT}/v1/chat/completions" in err
        assert "not JSON" in err and says in err and "Traceback" not in err


def test_case28_overlong_question_is_named_before_training(
    cases: Path, tiny_student: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The policy is an error, not a skip: naming chal-10 and max_seq_len, nothing trained."""
    config = yaml.safe_load((cases / "case28_run.yaml").read_text())
    config["student"] = tiny_student
    for key in ("questions", "rationales"):
        config["data"][key] = str(cases / Path(config["data"][key]).name)
    path, out = tmp_path / "run.yaml", tmp_path / "out"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", "--config", str(path), "--output", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "train.max_seq_len" in err and "'chal-10'" in err and "max_seq_len=256" in err
    assert "Traceback" not in err
    assert not (out / "checkpoints").exists() and not (out / "metrics.jsonl").exists()


def test_error_object_in_a_200_reply_is_a_teacher_error(
    cases: Path, fake_teacher: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """`{"error": ...}` with status 200 names the server's message, not a KeyError."""
    assert generate(cases, "html200", tmp_path / "out", model="error-json-200") == 1
    err = capsys.readouterr().err
    assert "answered 200 with an error: model overloaded" in err and "Traceback" not in err
